import time

from celery import shared_task

from .models import TaskRun


@shared_task
def record(name: str, seconds: float = 0) -> int:
    """Work for ``seconds``, then write a row: a task whose outcome is visible in PostgreSQL."""
    time.sleep(seconds)
    return TaskRun.objects.create(name=name).pk


@shared_task
def tick() -> int:
    """The periodic task beat sends."""
    return TaskRun.objects.create(name="tick").pk
