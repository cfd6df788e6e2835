"""Running the work on Celery workers: the app (``app.py``), its tasks (``tasks.py``), what enqueues them
(``enqueue.py``) and what the queues look like (``inspect.py``).

Without ``[cluster] broker_url`` (or STANCE_BROKER_URL) nothing here is used: every command runs its work in
its own process. With a broker, ``stance worker`` processes take tasks off the queues; the database stays the
only store and the only guard (leases for collection, unique keys for posts and classifications), the broker
only carries ids.
"""
