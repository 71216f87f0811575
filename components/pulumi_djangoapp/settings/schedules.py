"""The arguments of scheduled management commands (``ScheduleArgs``): cron expressions checked
field by field as the CronJob controller parses them, IANA time zones, deadlines. The CronJobs are
built in ``builders/schedules.py``."""

import zoneinfo
from dataclasses import dataclass
from typing import Any, List, Mapping, NotRequired, Optional, TypedDict

from .checks import DNS1123_LABEL, Problems, checked_bool, is_int, unknown_keys
from .resources import DEFAULT_APP_RESOURCES, Resources, checked_resources

# Job names get an 11-character suffix from the CronJob controller: 63 - 11.
MAX_CRONJOB_NAME = 52

DEFAULT_TIME_ZONE = "Etc/UTC"

DEFAULT_DEADLINE_SECONDS = 3600

_MACROS = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")

_MONTHS = {
    m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())
}

_DAYS = {d: i for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}

# (name, low, high, names) of the five fields, as robfig/cron (the controller's parser) reads them.
_FIELDS = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)


class ScheduleArgs(TypedDict):
    """A management command on a schedule."""

    name: str
    """Name of the schedule; the CronJob is ``<app>-<name>`` (at most 52 characters). Required."""
    schedule: str
    """Cron expression (five fields, or ``@daily``-style). Required."""
    command: List[str]
    """Exec-form command in the app image (``["python", "manage.py", "clearsessions"]``). Required."""
    time_zone: NotRequired[str]
    """IANA time zone of the schedule. Default: ``Etc/UTC``."""
    resources: NotRequired[Mapping[str, Any]]
    """Requests and limits of the command. Default: the django container's."""
    deadline_seconds: NotRequired[int]
    """``activeDeadlineSeconds`` of each run. Default: ``3600``."""
    suspend: NotRequired[bool]
    """Stop scheduling runs (a run in progress finishes). Default: ``False``."""


@dataclass(frozen=True)
class ScheduleSettings:
    name: str
    schedule: str
    command: tuple[str, ...]
    time_zone: str
    resources: Optional[Resources]  # None: the django container's
    deadline_seconds: int
    suspend: bool


def cron_problem(expression: Any) -> Optional[str]:
    """Why ``expression`` is not a schedule the CronJob controller accepts, or None."""
    if not isinstance(expression, str) or not expression.strip():
        return "must be a cron expression such as '0 3 * * *' or '@daily'"
    text = expression.strip()
    if text.startswith(("TZ=", "CRON_TZ=")):
        return "must not carry a time zone (the API server refuses TZ= in schedule); use time_zone"
    if text.startswith("@"):
        return None if text in _MACROS else f"must be one of {', '.join(_MACROS)} or five fields"
    fields = text.split()
    if len(fields) != 5:
        return "must have five fields: minute hour day-of-month month day-of-week"
    for value, (name, low, high, names) in zip(fields, _FIELDS, strict=True):
        for part in value.split(","):
            problem = _part_problem(part, low, high, names)
            if problem:
                return f"{name} {part!r}: {problem}"
    return None


def _number(token: str, names: Mapping[str, int]) -> Optional[int]:
    if token.isdigit():
        return int(token)
    return names.get(token.upper())


def _part_problem(part: str, low: int, high: int, names: Mapping[str, int]) -> Optional[str]:
    base, _, step = part.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        return "a step must be a positive number"
    if base in ("*", "?"):
        return None
    start, _, end = base.partition("-")
    bounds = [_number(start, names), *([_number(end, names)] if end else [])]
    if any(b is None for b in bounds):
        return f"must be a number from {low} to {high}" + (" or a name" if names else "")
    if any(not low <= b <= high for b in bounds if b is not None):
        return f"out of range {low}-{high}"
    if end and bounds[0] > bounds[1]:  # type: ignore[operator]
        return "a range must go upwards"
    return None


def time_zone_problem(zone: Any) -> Optional[str]:
    if not isinstance(zone, str) or not zone:
        return "must be an IANA time zone such as 'Europe/Paris'"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "must be an IANA time zone such as 'Europe/Paris' (the API server checks the name)"
    return None


def normalise(
    problems: Problems, raw: Any, app_name: str, taken: set[str]
) -> tuple[ScheduleSettings, ...]:
    """``taken`` holds container and sidecar names a schedule may not reuse."""
    if raw is None:
        return ()
    if not isinstance(raw, (list, tuple)):
        problems.add("schedules", raw, "must be a list of ScheduleArgs")
        return ()
    result = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        field = f"schedules[{i}]"
        if not isinstance(item, Mapping):
            problems.add(field, item, "must be a mapping with name, schedule and command")
            continue
        item = {k: v for k, v in item.items() if v is not None}
        unknown_keys(problems, item, ScheduleArgs, f"{field}.")
        name = item.get("name")
        if not isinstance(name, str) or not DNS1123_LABEL.match(name):
            problems.add(f"{field}.name", name, "must be a DNS-1123 label")
        elif len(f"{app_name}-{name}") > MAX_CRONJOB_NAME:
            problems.add(
                f"{field}.name",
                name,
                f"makes the CronJob name '{app_name}-{name}' longer than {MAX_CRONJOB_NAME} characters (its Jobs add 11)",
            )
        elif name in seen or name in taken:
            problems.add(
                f"{field}.name",
                name,
                "is already the name of another schedule, sidecar or container",
            )
        seen.add(name if isinstance(name, str) else "")
        problem = cron_problem(item.get("schedule"))
        if problem:
            problems.add(f"{field}.schedule", item.get("schedule"), problem)
        command = item.get("command")
        if (
            not isinstance(command, (list, tuple))
            or not command
            or not all(isinstance(c, str) and c for c in command)
        ):
            problems.add(f"{field}.command", command, "is required: an exec-form list of strings")
            command = ()
        zone = item.get("time_zone", DEFAULT_TIME_ZONE)
        problem = time_zone_problem(zone)
        if problem:
            problems.add(f"{field}.time_zone", zone, problem)
        deadline = item.get("deadline_seconds", DEFAULT_DEADLINE_SECONDS)
        if not is_int(deadline) or not 1 <= deadline <= 2**63 - 1:
            problems.add(
                f"{field}.deadline_seconds", deadline, "must be a positive number of seconds"
            )
        suspend = checked_bool(problems, f"{field}.suspend", item.get("suspend", False), False)
        result.append(
            ScheduleSettings(
                name=name if isinstance(name, str) else "",
                schedule=item.get("schedule", "") if isinstance(item.get("schedule"), str) else "",
                command=tuple(command),
                time_zone=zone if isinstance(zone, str) else DEFAULT_TIME_ZONE,
                resources=checked_resources(
                    problems, f"{field}.resources", item["resources"], DEFAULT_APP_RESOURCES
                )
                if "resources" in item
                else None,
                deadline_seconds=deadline if is_int(deadline) else DEFAULT_DEADLINE_SECONDS,
                suspend=suspend is True,
            )
        )
    return tuple(result)
