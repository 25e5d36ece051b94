"""Evidence-first answers with no model: relative times, answer types, spans, refusals."""

from __future__ import annotations

from datetime import date

import pytest

from mirix_app.agent.answer import analyze, answer, stem
from mirix_app.agent.extract.times import find_times
from mirix_app.memory.types import Memory, MemoryType, Source


def turn(speaker: str, text: str, at: str, ref: str = "D1:1") -> Memory:
    return Memory(
        MemoryType.EPISODIC,
        {
            "occurred_at": at,
            "actor": speaker,
            "event_type": "conversation",
            "summary": f"{speaker}: {text}",
            "details": "",
        },
        id=f"epi_{ref.replace(':', 'X').ljust(26, '0')}",
        sources=[Source("conversation", ref, at)],
    )


def screen(summary: str, details: str, at: str = "2026-12-02T06:14:00Z", n: int = 1) -> Memory:
    return Memory(
        MemoryType.EPISODIC,
        {"occurred_at": at, "summary": summary, "details": details, "event_type": "activity"},
        id=f"epi_{str(n).rjust(26, '0')}",
    )


@pytest.mark.parametrize(
    ("text", "ref", "value"),
    [
        ("I went to a support group yesterday.", date(2023, 5, 8), "7 May 2023"),
        ("I ran a charity race last Saturday", date(2023, 5, 25), "Saturday 20 May 2023"),
        ("my school event last week", date(2023, 6, 9), "the week before 9 June 2023"),
        ("we went camping two weekends ago", date(2023, 7, 17), "two weekends before 17 July 2023"),
        ("a friend made it ten years ago", date(2023, 6, 27), "2013"),
        ("We had a blast last year at the fest", date(2023, 8, 17), "2022"),
        ("I'm going to a conference this month", date(2023, 7, 3), "July 2023"),
        ("see you next Thursday", date(2023, 5, 8), "Thursday 11 May 2023"),
        ("I joined a group last Tues.", date(2023, 7, 20), "Tuesday 18 July 2023"),
        ("the review is tomorrow at 9am", date(2026, 12, 2), "3 December 2026, 09:00"),
        ("Thursday 12 March, 07:45", date(2026, 12, 2), "Thursday 12 March 2026, 07:45"),
        ("due on 2024-02-29", date(2024, 1, 1), "29 February 2024"),
        ("I moved here in 2019", date(2023, 1, 1), "2019"),
    ],
)
def test_relative_times_resolve_against_the_memory_time(text: str, ref: date, value: str) -> None:
    found = find_times(text, ref)
    assert found and found[0].value == value


def test_words_that_look_like_times_are_not() -> None:
    assert find_times("The sun is out and I may go.", date(2026, 1, 1)) == []


def test_question_kinds() -> None:
    kinds = {
        "When is my flight to Porto?": "when",
        "What time does the standup start?": "time",
        "How many eggs do I need?": "number",
        "How long has she been painting?": "duration",
        "Who is my dentist?": "who",
        "Where did we camp?": "where",
        "How do I rotate the credentials?": "steps",
        "Did Anna call back?": "yesno",
        "Which gate does it leave from?": "field",
        "What did Maria donate?": "what",
    }
    for q, kind in kinds.items():
        assert analyze(q).kind == kind, q
    parts = analyze("When is my flight to Porto and from which gate?").parts
    assert [p.kind for p in parts] == ["when", "field"] and parts[1].head == "gate"
    assert stem("donated") == stem("donate") and stem("paintings") == stem("painting")


def test_a_when_question_resolves_yesterday_in_the_turn() -> None:
    mems = [
        turn(
            "Caroline",
            "I went to a LGBTQ support group yesterday and it was so powerful.",
            "2023-05-08T13:56:00Z",
            "D1:3",
        ),
        turn("Melanie", "That's great! I painted a lake sunrise.", "2023-05-08T13:57:00Z", "D1:4"),
    ]
    ans = answer("When did Caroline go to the LGBTQ support group?", mems)
    assert ans.found and ans.short == "7 May 2023"
    assert ans.spans[0].memory_id == mems[0].id
    assert ans.headline == f"7 May 2023 [{mems[0].id}]"
    assert "support group yesterday" in ans.render()  # the supporting sentence beneath


def test_a_when_question_without_a_time_word_gets_the_memory_date() -> None:
    mems = [turn("Jon", "I lost my job as a banker.", "2023-01-19T16:21:00Z")]
    assert answer("When did Jon lose his job as a banker?", mems).short == "19 January 2023"


def test_flight_email_two_part_question() -> None:
    email = screen(
        "Read 'Your Porto trip is confirmed' in Thunderbird",
        "From: Marta Silva <marta@lumentravel.pt>\nSubject: Your Porto trip is confirmed\n"
        "Flight TP1947 Lisbon to Porto\nThursday 12 March, 07:45, gate A14\n"
        "Booking reference: QX7-22841",
    )
    other = screen("Edited reconcile.py in VS Code", "def reconcile(rows):\n    return rows", n=2)
    ans = answer("When is my flight to Porto and from which gate?", [other, email])
    assert ans.short == "Thursday 12 March 2026, 07:45; A14"
    assert answer("What is my booking reference?", [email, other]).short == "QX7-22841"
    assert "Marta Silva" in answer("Who sent the Porto booking?", [email]).short


def test_numbers_with_units_and_steps() -> None:
    recipe = Memory(
        MemoryType.RESOURCE,
        {"title": "Shakshuka", "content": "Ingredients\n2 tbsp olive oil\n4 eggs\n400 g tomatoes"},
        id="res_" + "1" * 26,
    )
    assert answer("How many eggs do I need for the shakshuka?", [recipe]).short == "4 eggs"
    proc = Memory(
        MemoryType.PROCEDURAL,
        {
            "summary": "Rotate the staging database credentials",
            "steps": ["Create a new secret", "ALTER USER app PASSWORD", "Restart api", "Revoke"],
        },
        id="pro_" + "1" * 26,
    )
    ans = answer("How do I rotate the staging database credentials?", [recipe, proc])
    assert ans.steps == proc.fields["steps"]
    text = ans.render()
    assert text.splitlines()[1] == "1. Create a new secret" and f"[{proc.id}]" in text


def test_who_where_and_what_spans() -> None:
    sem = Memory(
        MemoryType.SEMANTIC,
        {"name": "Dr. Okafor", "summary": "My dentist is Dr. Amara Okafor at Smile Clinic"},
        id="sem_" + "1" * 26,
    )
    assert answer("Who is my dentist?", [sem]).short == "Dr. Amara Okafor"
    assert answer("Where is my dentist?", [sem]).short == "Smile Clinic"
    donated = turn(
        "Maria",
        "I donated my old car to a homeless shelter I volunteer at yesterday.",
        "2023-05-08T10:00:00Z",
    )
    assert "old car" in answer("What did Maria donate to a homeless shelter?", [donated]).short


def test_a_question_in_the_evidence_is_not_its_answer() -> None:
    asked = turn("Caroline", "What pet do you have?", "2023-05-08T10:00:00Z", "D1:1")
    told = turn(
        "Melanie", "We have two pets, cats named Luna and Oliver.", "2023-05-08T10:01:00Z", "D1:2"
    )
    ans = answer("What pets does Melanie have?", [asked, told])
    assert ans.spans[0].memory_id == told.id


def test_nothing_close_enough_says_so_and_invents_nothing() -> None:
    mems = [screen("Edited reconcile.py in VS Code", "def reconcile(rows):\n    return rows")]
    ans = answer("What is the capital of Peru?", mems)
    assert not ans.found and ans.short == ""
    assert "couldn't find" in ans.render() and mems[0].id in ans.render()  # the nearest, cited
    assert not answer("", mems).found
    assert not answer("anything?", []).found


def test_vault_values_are_never_evidence() -> None:
    vault = Memory(
        MemoryType.VAULT,
        {
            "entry_type": "password",
            "caption": "home wifi",
            "secret_value": "enc:xyz",
            "sensitivity": "high",
            "source": "",
        },
        id="vlt_" + "1" * 26,
    )
    ans = answer("What is my home wifi password?", [vault])
    assert "enc:xyz" not in ans.render()


def test_questions_the_user_asked_are_not_evidence() -> None:
    asked = screen("Asked: When is my flight to Porto?", "", n=3)
    asked.tags = ["chat-question"]
    assert not answer("When is my flight to Porto?", [asked]).found


@pytest.mark.parametrize(
    ("question", "details", "expected"),
    [
        # money over a section number; a year inside an identifier is no amount
        (
            "How much is the deposit for the flat?",
            "4.2 The deposit is EUR 2,800, paid before moving in.\nContract ZX-2023-0042",
            "EUR 2,800",
        ),
        (
            "How much do I owe the plumber?",
            "Invoice INV-2025-0077 from your plumber\nAmount due: 380 kr",
            "380 kr",
        ),
        # a count, not the date or the clock time on the same line
        (
            "How many files were copied in the backup?",
            "Backup finished 03 Feb 2026 02:10 - 5,311 files copied, 0 errors",
            "5,311 files",
        ),
        (
            "How full is the data volume?",
            "Volume /data on /dev/nvme0n1p2: 1.0T size, 870G used, 87% full",
            "87% full",
        ),
    ],
)
def test_numbers_prefer_amounts_counts_and_percentages(
    question: str, details: str, expected: str
) -> None:
    assert answer(question, [screen("Seen in a window", details)]).short == expected


def test_who_by_role_and_by_handle() -> None:
    ticket = screen(
        "[WEB-310] Migrate the search index - Jira",
        "Status: To Do Priority: Medium Assignee: Nadia Rahman\nReporter: Tomas Vik",
    )
    assert answer("Who is assigned to migrating the search index?", [ticket]).short == (
        "Nadia Rahman"
    )
    pr = screen(
        "Cache warm-up on deploy #88 - Pull Request",
        "Reviewers\nkhalid approved these changes\nmvoss requested changes",
        n=2,
    )
    assert answer("Who asked for changes on the cache warm-up pull request?", [pr]).short == (
        "mvoss"
    )


def test_where_finds_addresses_rooms_and_place_fields() -> None:
    chat = screen(
        "#climbing | Discord",
        "Ines Today at 18:02\nwe meet at my place: Harbour Road 14, 2nd floor",
    )
    assert answer("Where do we meet for climbing?", [chat]).short == "Harbour Road 14"
    cal = screen("Calendar", "Thursday 5 March, 10:00: Budget sync with finance (Room Cedar)", n=2)
    assert answer("Which room is the budget sync in?", [cal]).short.endswith("Cedar")


def test_provenance_markers_are_not_answer_text() -> None:
    mem = screen(
        "Canteen menu",
        "- Friday Lentil dahl with naan [capture:cap_01M8VQFRRTT10XPKNG41RRSNSM 02 Dec 2026 13:24]",
    )
    got = answer("What is on the canteen menu on Friday?", [mem]).render()
    assert "cap_" not in got and "Lentil dahl" in got


def test_declines_when_no_memory_holds_most_of_the_question() -> None:
    wifi = screen("Settings - Wi-Fi", "IPv4 address 10.0.4.17\nDNS 10.0.4.1")
    trip = screen("Your trip to Oslo is booked", "Flight OS512 to Oslo, Friday 09:10", n=2)
    ans = answer("What is the address of my hotel in Oslo?", [wifi, trip])
    assert not ans.found and ans.short == ""
    assert "couldn't find" in ans.render()


def test_a_table_cell_under_its_header() -> None:
    term = screen(
        "Worked in Terminal (ops@box: ~)",
        "ops@box:~$ docker ps\nNAMES STATUS RESTARTS PORTS\nqueue-runner Up 7 0.0.0.0:9000",
    )
    assert answer("How many restarts has the queue runner had?", [term]).short == "7"


def test_yes_no_from_plain_polarity_words_with_the_evidence() -> None:
    ci = screen("Checks", "build / pytest (push) Failing after 3m", n=1)
    got = answer("Did the pytest build pass?", [ci])
    # the verdict is the answer; the line it rests on is shown beneath it
    assert got.short == "No" and "Failing" in got.spans[0].support
    assert "Failing" in got.render()
    mixed = screen("Mail", "The gym is not open on Sunday but the pool is allowed for members", n=2)
    assert not answer("Is the pool allowed on Sunday?", [mixed]).short.startswith(("Yes", "No"))


def test_a_statement_holding_the_whole_question_says_yes() -> None:
    said = screen("Chat", "Ben: I finished the tax return for Lena last night", n=3)
    got = answer("Did Ben finish the tax return for Lena?", [said])
    assert got.short == "Yes" and "tax return" in got.render()
    other = screen("Chat", "Ben: the tax office opens at nine", n=4)
    assert answer("Did Ben finish the tax return for Lena?", [other]).short != "Yes"


def test_until_when_takes_the_time_after_until() -> None:
    shop = screen("Bakery Holm - opening hours", "Saturday: 07:00 until 14:30")
    assert answer("Until when is the bakery open on Saturday?", [shop]).short.endswith("14:30")


def test_steps_come_from_the_whole_procedure_not_a_page_excerpt() -> None:
    page = Memory(
        MemoryType.RESOURCE,
        {"title": "Runbook: reset the office printer", "content": "1. Unplug it\n2. Wait a minute"},
        id="res_" + "3" * 26,
    )
    proc = Memory(
        MemoryType.PROCEDURAL,
        {
            "summary": "Reset the office printer",
            "steps": ["Unplug it", "Wait a minute", "Hold the power key", "Print a test page"],
        },
        id="pro_" + "4" * 26,
    )
    got = answer("How do I reset the office printer?", [page, proc])
    assert got.steps == proc.fields["steps"]


def test_a_session_answers_when_it_was_seen_but_not_when_an_event_is() -> None:
    session = Memory(
        MemoryType.EPISODIC,
        {
            "summary": "Edited reconcile.py in VS Code (billing-service), 09:16–09:33 (10 captures)",
            "details": "def reconcile(rows):",
            "event_type": "activity",
            "occurred_at": "2026-11-30T09:16:00Z",
        },
        id="epi_" + "5" * 26,
    )
    assert (
        answer("When did I edit reconcile.py?", [session]).short == "30 November 2026, 09:16–09:33"
    )
    mail = Memory(
        MemoryType.EPISODIC,
        {
            "summary": "Read 'Your train to Aarhus' in Thunderbird, 08:02",
            "details": "DSB IC 123 Copenhagen to Aarhus\nFriday 4 December, departs 10:15",
            "event_type": "activity",
            "occurred_at": "2026-12-01T08:02:00Z",
        },
        id="epi_" + "6" * 26,
    )
    got = answer("What time does my train to Aarhus leave?", [mail]).short
    assert "10:15" in got and "08:02" not in got


def test_a_change_from_one_amount_to_another_answers_with_the_new_one() -> None:
    m = screen(
        "Changes to your plan", "from 1 March your Basic plan goes from EUR 7 to EUR 9 a month"
    )
    assert answer("How much will my Basic plan cost a month from March?", [m]).short == "EUR 9"
