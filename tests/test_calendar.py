"""Reply deadlines in working days on the official calendar: the State Council's holidays and
make-up working days (调休) of 2025 and 2026 as published, a request filed on any day of a year
(a weekday, a weekend, a holiday or a make-up workday, at any hour) due exactly that many working
days later, and a day outside the years the calendar covers refused, never guessed."""

import pathlib
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clock_support import Clock
from conftest import make_entry, node_config
from node.errors import ConfigError
from node.model.calendar import CHINA, OFFICIAL_YEARS, Calendar, CalendarNotCovered
from node.model.request import Request, arrive
from node.sharing.workflow import Sharing


def days(first: date, last: date):
    """Every day from first to last, both included."""
    for n in range((last - first).days + 1):
        yield first + timedelta(days=n)


def spans(*ranges: tuple[str, str]) -> list[str]:
    return [d.isoformat() for first, last in ranges
            for d in days(date.fromisoformat(first), date.fromisoformat(last))]


# The State Council's notices (国办发明电〔2024〕12号 for 2025, 〔2025〕7号 for 2026): long
# holidays that take in weekdays, and weekend days declared working days to make up for them.
HOLIDAYS_2025 = spans(("2025-01-01", "2025-01-01"), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
                      ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08"))
WORKDAYS_2025 = ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"]
HOLIDAYS = spans(("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
                 ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
                 ("2026-10-01", "2026-10-07"))
WORKDAYS = ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"]
ANSWER_DAYS = 10
# A node's config names no dates: the working days are the official ones.
CONFIGURED = node_config(pathlib.Path("unused"), "guangdong", "provincial", "440000", extra={
    "sharing": {"answer_days": ANSWER_DAYS}}).calendar
# Filed up to mid-December, a request is due within 2026 (the year the facts above describe).
YEAR = list(days(date(2026, 1, 1), date(2026, 12, 15)))
# Beijing hours of filing: the first moment of the day, office hours, and the last moment, which
# is still the same day in Beijing but (before 08:00) the day before in UTC.
HOURS = (time(0, 0), time(7, 59, 59), time(9, 30), time(23, 59, 59, 999999))
UNCOVERED = OFFICIAL_YEARS.stop  # the first year the installed package has no notice for


def working(day: date) -> bool:
    """The rule, spelled out on its own: Monday to Friday unless a holiday, or a make-up workday."""
    return day.isoformat() in WORKDAYS or (day.weekday() < 5 and day.isoformat() not in HOLIDAYS)


def filed(day: date, hour: time) -> datetime:
    """A filing at that Beijing day and hour, as the node's clock gives it: in UTC."""
    return datetime.combine(day, hour, CHINA).astimezone(timezone.utc)


def test_2025_as_published_spring_festival_off_and_its_sundays_and_saturdays_worked():
    assert CONFIGURED.is_working(date(2025, 1, 26)) and date(2025, 1, 26).strftime("%a") == "Sun"
    assert CONFIGURED.is_working(date(2025, 2, 8)) and date(2025, 2, 8).strftime("%a") == "Sat"
    assert not any(CONFIGURED.is_working(d) for d in days(date(2025, 1, 28), date(2025, 2, 4)))
    year = list(days(date(2025, 1, 1), date(2025, 12, 31)))
    published = [d for d in year if d.isoformat() in WORKDAYS_2025 or
                 (d.weekday() < 5 and d.isoformat() not in HOLIDAYS_2025)]
    assert [d for d in year if CONFIGURED.is_working(d)] == published
    # Filed on the Friday before the Spring Festival: Sat 25 is off, Sun 26 worked, Mon 27, then
    # nothing until Wed Feb 5; then 5, 6, 7, Sat 8, 10, 11, 12, 13.
    assert CONFIGURED.deadline(filed(date(2025, 1, 24), time(9, 30))) == date(2025, 2, 13)


def test_the_configured_year_has_its_holidays_and_make_up_workdays():
    assert not CONFIGURED.is_working(date(2026, 10, 1))  # a Thursday of the National Day holiday
    assert CONFIGURED.is_working(date(2026, 10, 10))  # a Saturday made a workday
    assert not CONFIGURED.is_working(date(2026, 10, 11))  # an ordinary Sunday
    assert [d for d in YEAR if CONFIGURED.is_working(d) != working(d)] == []
    # Filed the day before the holiday: Oct 8, 9, Sat 10, 12-16, 19, 20.
    assert CONFIGURED.deadline(filed(date(2026, 9, 30), time(9, 30))) == date(2026, 10, 20)


def test_a_request_filed_on_any_day_of_the_year_is_due_exactly_ten_working_days_later():
    for day in YEAR:
        for hour in HOURS:
            due = CONFIGURED.deadline(filed(day, hour))
            assert due > day, f"filed {day} {hour}: due {due}, not after filing"
            assert working(due), f"filed {day} {hour}: due {due}, not a working day"
            counted = sum(working(d) for d in days(day + timedelta(days=1), due))
            assert counted == ANSWER_DAYS, f"filed {day} {hour}: due {due}, {counted} working days later"
            # The calendar days past the ten are exactly the days off between filing and deadline.
            off = sum(not working(d) for d in days(day + timedelta(days=1), due))
            assert (due - day).days == ANSWER_DAYS + off
        # A later filing is never due earlier.
        assert CONFIGURED.deadline(filed(day + timedelta(days=1), time(0))) >= due


def test_without_holidays_ten_working_days_span_twelve_to_fourteen_calendar_days():
    plain = Calendar(answer_days=10)
    spans_by_weekday = {}
    for day in YEAR:
        for hour in HOURS:
            spans_by_weekday.setdefault(day.strftime("%a"), set()).add(
                (plain.deadline(filed(day, hour)) - day).days)
    # Monday to Friday: two whole weeks; Saturday and Sunday: to the Friday of the second week.
    assert spans_by_weekday == {"Mon": {14}, "Tue": {14}, "Wed": {14}, "Thu": {14}, "Fri": {14},
                                "Sat": {13}, "Sun": {12}}


def pending_on(day: date, number: int) -> Request:
    """A conditional request filed at 09:30 Beijing on `day`, as the owner's node answers it."""
    at = filed(day, time(9, 30))
    request = Request(
        request_id=f"hebei-{number:04d}", consumer_code="130100005", consumer_node="hebei",
        resource_code="440300002/000002", owner_code="440300002", owner_node="guangdong", purpose="办理企业开办",
        basis="《优化营商环境条例》", data_items=("统一社会信用代码",), share_type="conditional", state="submitted",
        reason="", version=1, created_at=at, updated_at=at)
    entry = make_entry("440300002", seq=2, share_type="conditional", share_condition="须说明办理事项")
    return arrive(request, entry, "guangdong", CONFIGURED, at)


def test_overdue_is_flagged_from_the_day_after_the_deadline_for_a_request_filed_on_any_day(store):
    requests = [pending_on(day, n) for n, day in enumerate(YEAR)]
    assert {r.state for r in requests} == {"pending"}
    with store.transaction() as tx:
        tx.put_requests(requests, log=True)
    clock = Clock(filed(YEAR[0], time(0)))
    sharing = Sharing(store, "guangdong", {"440300002"}, CONFIGURED, lookup=lambda code: None, clock=clock)
    for today in days(YEAR[0], date(2027, 1, 31)):
        due_before = {r.request_id for r in requests if date.fromisoformat(r.deadline) < today}
        for hour in (time(0, 0), time(23, 59, 59)):
            clock.at = datetime.combine(today, hour, CHINA).astimezone(timezone.utc)
            listed, _ = sharing.list("", "", "", overdue_only=True, page_size=1000, page_token="")
            assert {r.request_id for r in listed} == due_before, f"overdue list on {today} {hour}"
        # The flag a reader sees agrees with the list, on the deadline itself still in time.
        flagged = {r.request_id for r in requests if sharing.overdue(r)}
        assert flagged == due_before, f"overdue flag on {today}"
    granted = requests[0].advanced("granted", "440300002", clock(), "approved by the owner")
    assert not sharing.overdue(granted)  # only a pending request is ever overdue


DAY_OFF = st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31))


@settings(max_examples=300, deadline=None)
@given(answer_days=st.integers(1, 30), holidays=st.frozensets(DAY_OFF, max_size=60),
       workdays=st.frozensets(DAY_OFF, max_size=20),
       at=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31, 23, 59),
                       timezones=st.just(timezone.utc)))
def test_any_calendar_gives_a_working_day_exactly_that_many_working_days_after_filing(
        answer_days, holidays, workdays, at):
    calendar = Calendar(answer_days=answer_days, holidays=holidays, workdays=workdays)
    day = at.astimezone(CHINA).date()
    due = calendar.deadline(at)
    assert due > day and calendar.is_working(due)
    assert sum(calendar.is_working(d) for d in days(day + timedelta(days=1), due)) == answer_days


def test_past_the_years_covered_a_deadline_is_refused_naming_them_unless_weekdays_are_chosen():
    late = filed(date(UNCOVERED - 1, 12, 28), time(9, 30))
    with pytest.raises(CalendarNotCovered) as refused:
        CONFIGURED.deadline(late)
    covered = f"{OFFICIAL_YEARS.start}–{UNCOVERED - 1}"
    assert covered in str(refused.value) and str(UNCOVERED) in str(refused.value)
    chosen = node_config(pathlib.Path("unused"), "guangdong", "provincial", "440000", extra={
        "sharing": {"beyond_calendar": "weekdays"}}).calendar
    due = chosen.deadline(late)
    assert due.year == UNCOVERED and due.weekday() < 5


def test_a_notice_typed_in_for_a_year_the_package_lacks_counts_its_days_off_and_make_up_days():
    """Until the package carries the next year, its operator types the State Council's notice in."""
    first = date(UNCOVERED, 1, 1)
    make_up = next(first + timedelta(days=d) for d in range(7) if (first + timedelta(days=d)).weekday() == 5)
    weekday_off = next(first + timedelta(days=d) for d in range(1, 9) if (first + timedelta(days=d)).weekday() < 5)
    noticed = node_config(pathlib.Path("unused"), "hebei", "provincial", "130000", extra={"sharing": {
        "notices": {UNCOVERED: {"holidays": [first.isoformat(), weekday_off.isoformat()],
                                "workdays": [make_up.isoformat()]}}}}).calendar
    assert not noticed.is_working(first) and not noticed.is_working(weekday_off) and noticed.is_working(make_up)
    late = filed(date(UNCOVERED - 1, 12, 28), time(9, 30))
    due = noticed.deadline(late)  # crosses into the noticed year: counted, not refused
    assert due.year == UNCOVERED and noticed.is_working(due)
    with pytest.raises(CalendarNotCovered):  # the year after is still unknown
        noticed.is_working(date(UNCOVERED + 1, 3, 1))


@pytest.mark.parametrize("notices, key, rule", [
    ({OFFICIAL_YEARS.start: {"holidays": []}}, f"sharing.notices.{OFFICIAL_YEARS.start}", "carries the notice"),
    ({UNCOVERED: {"holidays": [f"{UNCOVERED + 1}-01-01"]}}, f"sharing.notices.{UNCOVERED}.holidays[0]",
     f"is not in {UNCOVERED}"),
    ({"next": {}}, "sharing.notices.next", "must be a year"),
    ({UNCOVERED: {"days": []}}, f"sharing.notices.{UNCOVERED}.days", "unknown key"),
])
def test_a_bad_notice_stops_start_up_naming_the_key(notices, key, rule):
    with pytest.raises(ConfigError) as refused:
        node_config(pathlib.Path("unused"), "hebei", "provincial", "130000", extra={"sharing": {"notices": notices}})
    assert refused.value.key == key and rule in str(refused.value)


@pytest.mark.parametrize("sharing, key, rule", [
    ({"holidays": [f"{UNCOVERED}-01-02"]}, "sharing.holidays[0]", f"{OFFICIAL_YEARS.start}–{UNCOVERED - 1}"),
    ({"workdays": ["2026-10-10"]}, "sharing.workdays", "come from the official calendar"),
    ({"beyond_calendar": "guess"}, "sharing.beyond_calendar", "refuse"),
])
def test_a_config_outside_the_official_calendar_stops_start_up_naming_the_years(sharing, key, rule):
    with pytest.raises(ConfigError) as refused:
        node_config(pathlib.Path("unused"), "guangdong", "provincial", "440000", extra={"sharing": sharing})
    assert refused.value.key == key and rule in str(refused.value)


def test_a_local_day_off_comes_on_top_of_the_official_ones():
    local = node_config(pathlib.Path("unused"), "hebei", "provincial", "130000", extra={
        "sharing": {"holidays": ["2026-12-07"]}}).calendar  # a Monday
    assert not local.is_working(date(2026, 12, 7)) and local.is_working(date(2026, 12, 8))
    assert not local.is_working(date(2026, 10, 1)) and local.is_working(date(2026, 10, 10))


def test_a_node_refuses_a_request_whose_deadline_it_cannot_count_and_stores_nothing(tmp_path, start_node):
    import grpc
    from clock_support import fix_clock
    from node import wire
    from node.proto import catalog_pb2, sharing_pb2, sharing_pb2_grpc

    client = start_node(node_config(tmp_path, "hebei", "provincial", "130000", departments=["130100005", "130000001"],
                                    extra={"sharing": {"answer_days": ANSWER_DAYS}}))
    entry = make_entry("130000001", seq=1, share_type="conditional", share_condition="须说明办理事项")
    client.catalog.PublishEntry(catalog_pb2.PublishEntryRequest(entry=wire.entry_to_proto(entry)))
    fix_clock([client], datetime(UNCOVERED - 1, 12, 28, 9, 30, tzinfo=CHINA))
    stub = sharing_pb2_grpc.SharingStub(client.channel)
    with pytest.raises(grpc.RpcError) as refused:
        stub.SubmitRequest(sharing_pb2.SubmitRequestRequest(
            consumer_code="130100005", resource_code=entry.resource_code, purpose="办理企业开办",
            basis="《优化营商环境条例》", data_items=[entry.data_items[0].name]))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"covers {OFFICIAL_YEARS.start}–{UNCOVERED - 1}" in refused.value.details()
    assert list(stub.ListRequests(sharing_pb2.ListRequestsRequest()).requests) == []


def test_a_node_whose_today_the_calendar_does_not_cover_stops_at_start(tmp_path, monkeypatch):
    import node.server

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(UNCOVERED, 1, 5, 9, 0, tzinfo=CHINA).astimezone(tz)

    monkeypatch.setattr(node.server, "datetime", Later)
    config = node_config(tmp_path, "hebei", "provincial", "130000", extra={"sharing": {}})
    with pytest.raises(ConfigError) as refused:
        node.server.Node(config)
    assert refused.value.key == "sharing.beyond_calendar" and str(UNCOVERED) in str(refused.value)
