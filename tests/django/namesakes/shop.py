from flowrra_django import task


@task
async def send_receipt(order_id: int) -> str:
    return f"shop {order_id}"
