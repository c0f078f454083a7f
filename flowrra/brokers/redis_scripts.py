"""The Lua scripts of the Redis broker, read once from ``lua/*.lua``. Each runs atomically on
the server, so one round trip does a whole step (enqueue a batch, fetch a batch, requeue a
dead worker's messages) and no two workers can both take, promote or reclaim the same message.
Every script is ``lua/prelude.lua`` (the shared helpers) followed by its own file, whose
opening comment lists its ARGV and what it returns; nothing is substituted into the text,
settings travel as arguments or keys.

Keys, all under the prefix ``P`` (``flowrra`` by default):

``P:q:<queue>:<priority>``  list of waiting messages (JSON), RPUSH at the tail, LPOP at the head
``P:delayed``               zset ``<queue>|<priority>|<message>`` scored by its ETA
``P:held:<consumer>``       hash tag -> ``<deadline>|<fetched>|<queue>|<priority>|<message>``
``P:due``                   zset consumer -> earliest visibility deadline it may hold
``P:leases``                zset consumer -> when its lease (heartbeat) runs out
``P:epoch:<consumer>``      how many times the consumer's lease ran out and what it held was
                            taken back; its result writes name it, and the result store's
                            script checks a write naming an older one (see ``retire``)
``P:sleepers:<queue>``      hash consumer -> ``<visibility timeout>|<asleep until>``, for
                            consumers that found the queue empty and block on their wake list
                            (an entry past its time, or of a consumer whose lease ran out, is
                            stale: that consumer died or stopped waiting)
``P:wake:<consumer>``       list a sleeping consumer BLPOPs: ``<tag>|<message>`` hand-offs, or
                            ``1`` (look again)
``P:revoked``, ``P:revoked:v``  zset of revoked task ids, and its change counter
``P:dead:ids``, ``P:dead:items``, ``P:dead:bytes``, ``P:dead:seq``  dead letters: zset of
                            ids by age, hash id -> JSON record {id, reason, queue, priority,
                            message, at, truncated}, their total size, the id counter
``P:dead:limits``           hash count/bytes/message: the bounds (every heartbeat writes
                            them)
``P:workers``, ``P:worker:<id>``  live worker ids and their heartbeat info
``P:queues``                set of every queue name used
``P:seq``                   delivery tag counter

A message for a queue with a sleeping consumer is handed to it directly (held for it and
pushed on its wake list), which saves the idle worker a round trip. Time is the server's
(``TIME``), so workers on hosts with skewed clocks agree on leases and deadlines.
"""

from __future__ import annotations

from ..lua import read_scripts

#: The scripts, by name (the name of their file in ``lua/``).
NAMES = (
    "enqueue",
    "fetch",
    "retry",
    "dead_letter",
    "release",
    "heartbeat",
    "retire",
    "list_workers",
    "queue_sizes",
    "requeue_dead",
    "delete_dead",
)

#: Script name -> its full source (prelude and body).
SCRIPTS = read_scripts(__package__, NAMES)
