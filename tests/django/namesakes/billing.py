from flowrra_django import task


@task(max_retries=0)
async def send_receipt(order_id: int) -> str:
    return f"billing {order_id}"


@task(name="billing.refund")
async def refund(order_id: int) -> str:
    return f"refund {order_id}"
