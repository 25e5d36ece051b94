"""The span a 'what' question asks for, dated questions, and question kinds (no model)."""

from __future__ import annotations

from datetime import date

import pytest

from mirix_app.agent.answer import analyze, answer, question_window, stem
from mirix_app.memory.types import Memory, MemoryType, Source


def turn(speaker: str, text: str, at: str, n: int = 1, details: str = "") -> Memory:
    return Memory(
        MemoryType.EPISODIC,
        {
            "occurred_at": at,
            "actor": speaker,
            "event_type": "conversation",
            "summary": f"{speaker}: {text}",
            "details": details,
        },
        id=f"epi_{str(n).rjust(26, '0')}",
        sources=[Source("conversation", f"D1:{n}", at)],
    )


@pytest.mark.parametrize(
    ("question", "said", "expected"),
    [
        # the words after the question's own words
        (
            "What did the bake sale raise money for?",
            "The bake sale raised money for the animal shelter on Elm Road.",
            "animal shelter on Elm Road",
        ),
        # the thing asked about keeps its modifiers
        (
            "What kind of tea does Ana drink?",
            "I'm into oolong tea, which my aunt sends from Taiwan.",
            "oolong tea",
        ),
        # a quoted title answers a question about a book
        (
            "What book is Sam reading?",
            'I am reading "The Overstory" and I love it.',
            "The Overstory",
        ),
        # a reason follows "because"
        (
            "Why did Lea move to Lyon?",
            "I moved to Lyon because my partner got a job at the hospital.",
            "partner got a job at the hospital",
        ),
        # the question's noun phrase ends at its auxiliary: the people asked for, not the genre
        (
            "Which jazz pianists does Omar listen to?",
            "I listen to a lot of jazz like Bill Evans and Oscar Peterson, but also some techno.",
            "Bill Evans and Oscar Peterson",
        ),
        # a phrase the question names, said whole in the memory, is the answer
        (
            "What cooking classes has Ines taken?",
            "I've taken a Thai cooking class at the market hall.",
            "Thai cooking class",
        ),
        # a title with who made it
        (
            "Which album does Noor play on repeat?",
            'I play "Blue" by Joni Mitchell on repeat, my favourite album.',
            "Blue by Joni Mitchell",
        ),
        # a thing, not the verb that came across it
        (
            "What did Piet find in the attic?",
            "Cleaning up, I found an old brass telescope in the attic.",
            "old brass telescope",
        ),
        # an irregular past form meets the question's verb; the feeling follows it
        (
            "How did Tom feel after the marathon?",
            "After the marathon I felt exhausted but proud.",
            "exhausted but proud",
        ),
    ],
)
def test_a_what_span_is_the_new_words_next_to_the_question_words(
    question: str, said: str, expected: str
) -> None:
    speaker = (analyze(question).names or ["Lea"])[0]
    got = answer(question, [turn(speaker, said, "2023-05-08T13:56:00Z")])
    assert got.found
    assert got.short == expected


def test_time_words_are_no_answer_to_what() -> None:
    got = answer(
        "What did Mia and her kids make at the pottery workshop?",
        [
            turn(
                "Mia",
                "Last Fri I finally took my kids to a pottery workshop.",
                "2023-07-03T10:00:00Z",
                details="Ana: What did you make?\nMia: We all made our own bowls, it was fun!",
            )
        ],
    )
    assert got.short not in ("Fri", "Last Fri")


def test_an_irregular_past_stems_like_its_verb() -> None:
    assert stem("felt") == stem("feel")
    assert stem("bought") == stem("buy")
    assert stem("made") == stem("making")


@pytest.mark.parametrize(
    ("question", "window", "rest_has"),
    [
        ("What did I buy on 3 June, 2023?", (date(2023, 5, 27), date(2023, 6, 4)), "buy"),
        ("What happened in October 2023?", (date(2023, 10, 1), date(2023, 10, 31)), "happened"),
        ("Where did we travel in 2022?", (date(2022, 1, 1), date(2022, 12, 31)), "travel"),
        ("What did I read yesterday?", None, "yesterday"),
    ],
)
def test_a_dated_question_names_the_days_it_is_about(
    question: str, window: tuple[date, date] | None, rest_has: str
) -> None:
    got, rest = question_window(question)
    assert got == window
    assert rest_has in rest
    if window is not None:
        assert "2023" not in rest and "2022" not in rest


def test_a_dated_question_prefers_the_memory_of_those_days() -> None:
    early = turn("Jo", "I adopted a cat named Pixel.", "2023-03-02T09:00:00Z", n=1)
    later = turn("Jo", "I adopted a dog named Biscuit.", "2023-06-03T09:00:00Z", n=2)
    got = answer("What pet did Jo adopt on 3 June, 2023?", [early, later])
    assert got.found and got.spans[0].memory_id == later.id
    # the date is not a word to match: the question is still answered from the words
    assert analyze("What pet did Jo adopt on 3 June, 2023?").stems == ["pet", "jo", "adopt"]


def test_when_after_another_question_word_is_a_condition() -> None:
    assert analyze("Who helps Mia when she is sick?").kind == "who"
    assert analyze("What does Ben do when it rains?").kind != "when"
    assert analyze("When does the train leave?").kind == "when"


def test_the_answer_to_a_question_in_the_memories_is_the_line_after_it() -> None:
    asked = turn(
        "Ana",
        "What inspired you to start running?",
        "2023-05-08T13:56:00Z",
        n=1,
        details="Jo: I ran my first race.\nJo: My grandfather ran every morning until he was ninety.",
    )
    got = answer("What inspired Jo to start running?", [asked])
    assert got.found
    assert "grandfather" in got.short


@pytest.mark.parametrize(
    ("question", "said", "expected"),
    [
        # a purpose: "what ... for?" is answered by the infinitive after the question's words
        (
            "What did Jon take a trip to Lisbon for?",
            "Took a short trip last week to Lisbon to clear my head a little.",
            "to clear my head",
        ),
        # "his name is Kyle": a name after "name is"
        (
            "What is the name of Tom's puppy?",
            "Our puppy is so cute, his name is Biscuit!",
            "Biscuit",
        ),
    ],
)
def test_a_purpose_and_a_name_are_the_span(question: str, said: str, expected: str) -> None:
    speaker = (analyze(question).names or ["Lea"])[0]
    got = answer(question, [turn(speaker, said, "2023-05-08T13:56:00Z")])
    assert got.short == expected


def test_a_reaction_hands_over_to_the_sentence_that_says_something() -> None:
    reaction = turn("Ana", "That bake sale sounds great, Mel!", "2023-05-08T13:56:00Z", n=1)
    said = turn(
        "Mel", "I ran a bake sale for the animal shelter last Saturday.", "2023-05-08T13:56:00Z", 2
    )
    got = answer("What did Mel's bake sale raise money for?", [reaction, said])
    assert got.found
    assert "animal shelter" in got.short
    assert "sounds" not in got.short


def test_the_person_spoken_to_is_no_answer_and_no_match() -> None:
    thanks = turn("Ana", "Thanks, Maria!", "2023-05-08T13:56:00Z", n=1)
    said = turn("Maria", "I volunteered at the soup kitchen downtown.", "2023-05-08T13:56:00Z", n=2)
    got = answer("What did Maria volunteer at?", [thanks, said])
    assert got.found and got.spans[0].memory_id == said.id
    assert "soup kitchen" in got.short


def test_a_state_question_takes_the_words_of_judgement() -> None:
    said = turn("Gina", "The store's doing great!", "2023-05-08T13:56:00Z")
    aside = turn("Gina", "It's a wild ride.", "2023-05-08T13:56:00Z", n=2)
    got = answer("How is Gina's store doing?", [said, aside])
    assert "great" in got.short


def test_context_turns_are_read_in_order() -> None:
    """The import writes neighbours nearest first (-1, +1, -2, +2): the reply after a
    question is the turn two on, not the one two back."""
    from mirix_app.agent.answer import units_of

    m = turn(
        "Mia",
        "Last weekend I did something new.",
        "2023-05-08T13:56:00Z",
        details=(
            "Ana: How was your week?\nAna: What was it?\n"
            "Mia: It was a long week.\nMia: I ran a 5K charity run."
        ),
    )
    order = [u.text for u in sorted(units_of(m, 0), key=lambda u: u.seq)]
    assert order == [
        "It was a long week.",
        "How was your week?",
        "Last weekend I did something new.",
        "What was it?",
        "I ran a 5K charity run.",
    ]
    from mirix_app.memory.ingest import Message, neighbours

    msgs = [Message("c", f"m{i}", "x", str(i), None) for i in range(5)]
    assert neighbours(msgs, 2) == [1, 3, 0, 4]


def test_a_dated_question_answered_by_a_memory_of_that_day_is_not_declined() -> None:
    said = turn("John", "My old area was hit by a nasty flood last week.", "2023-07-07T10:00:00Z")
    got = answer("What natural disaster affected John's old area on 7 July, 2023?", [said])
    assert got.found and "flood" in got.short


def test_a_phrasing_that_drops_the_extracted_answer_is_refused() -> None:
    from mirix_app.agent.phrasing import phrase
    from tests.fakes import ScriptedModel

    said = ("epi_1", "Caroline: I went to a LGBTQ support group yesterday.")
    evidence = [said, ("", "7 May 2023")]  # the draft's resolved date is evidence too
    good = ScriptedModel(["Caroline went to the support group on 7 May 2023."])
    ok = phrase(good, "When did Caroline go?", evidence, "7 May 2023", keep=["7 May 2023"])
    assert ok.ok
    vague = ScriptedModel(["Caroline went to the support group in May 2023."])
    bad = phrase(vague, "When did Caroline go?", evidence, "7 May 2023", keep=["7 May 2023"])
    assert not bad.ok and any("dropped the answer" in r for r in bad.verification.reasons)


def test_a_number_key_is_part_of_the_field_not_a_word_to_cover() -> None:
    """'flight number' asks for the flight's code; the memory need not say 'number'."""
    mail = Memory(
        MemoryType.RESOURCE,
        {
            "title": "Booking confirmation - Porto",
            "summary": "Flight booking for the Porto trip",
            "content": "Outbound flight: TP 1234, Brussels to Porto, Thursday 12 March 07:45\n"
            "Return flight: SN 487, Porto to Brussels, Sunday 15 March 18:20\n"
            "Booking reference: QX7P2L",
            "resource_type": "email",
        },
        id=f"res_{'1'.rjust(26, '0')}",
        sources=[Source("capture", "cap-1", "2026-03-01T10:00:00Z")],
    )
    got = answer("What is the flight number of my return flight?", [mail])
    assert got.found
    assert "SN 487" in got.short


@pytest.mark.parametrize(
    ("question", "said", "expected"),
    [
        (
            "Why did Priya start volunteering at the library?",
            "I started volunteering at the library in March. "
            "The kids there had nobody to read with after school.",
            "nobody to read with",
        ),
        (
            "How did Omar feel about the night shift at the bakery?",
            "I worked the night shift at the bakery all winter. "
            "Honestly it left me exhausted and lonely.",
            "exhausted and lonely",
        ),
    ],
)
def test_an_account_is_told_by_the_sentence_after_the_one_that_sets_the_scene(
    question: str, said: str, expected: str
) -> None:
    speaker = analyze(question).names[0]
    got = answer(question, [turn(speaker, said, "2024-04-02T18:00:00Z")])
    assert got.found
    assert expected in got.short


def test_a_thing_asked_for_stays_in_the_sentence_that_names_it() -> None:
    """'What kind of flooring' is a thing, not an account: the scene-setting turn holds it."""
    got = answer(
        "What kind of flooring is Jo looking for in the studio?",
        [
            turn(
                "Jo",
                "For the studio I'm looking for Marley flooring. It's tough and easy to clean.",
                "2024-04-02T18:00:00Z",
            )
        ],
    )
    assert "Marley" in got.short


def test_how_to_inside_a_when_question_is_what_was_made_not_steps() -> None:
    assert analyze("When did Rui record a video on how to fix a puncture?").kind == "when"
    assert analyze("How to fix a puncture?").kind == "steps"
    assert analyze("How do I rotate the staging credentials?").kind == "steps"


def test_the_thing_a_field_question_names_must_be_in_the_memory_that_answers() -> None:
    lunch = Memory(
        MemoryType.EPISODIC,
        {
            "occurred_at": "2027-01-15T12:30:00Z",
            "event_type": "calendar",
            "summary": "Fri 15 08:20 Dentist 12:30 Lunch with Tom (Cafe Linnea)",
            "details": "",
        },
        id=f"epi_{'7'.rjust(26, '0')}",
        sources=[Source("capture", "cap-7", "2027-01-10T09:00:00Z")],
    )
    dentist = Memory(
        MemoryType.RESOURCE,
        {
            "title": "Dentist appointment reminder - Smile Dental",
            "content": "Need to reschedule? Call us on 35 12 48 90 at least 24 hours before.",
        },
        id=f"res_{'8'.rjust(26, '0')}",
        sources=[Source("capture", "cap-8", "2027-01-10T09:00:00Z")],
    )
    got = answer("What is Tom's phone number?", [lunch, dentist])
    assert not got.found
    # the dentist's own number is a phone number of the thing asked about
    assert "35 12 48 90" in answer("What is the dentist's phone number?", [lunch, dentist]).short
    assert "couldn't find" in got.headline
    # a key people ask by but rarely write ("the name of the pet") does not decline
    pet = turn("Jo", "We said goodbye to Max, our old beagle, last week.", "2023-06-03T09:00:00Z")
    assert answer("What was the name of the beagle Jo said goodbye to?", [pet]).found


def test_a_follow_up_question_takes_up_its_whole_turn_and_the_reply_answers_it() -> None:
    """'Winning first place is amazing! What dance were you doing?': the question's own words
    are few, its turn holds the topic, and the reply after it is what was asked."""
    said = turn(
        "Gina",
        "My fav memory is when my team won first place at the regionals.",
        "2023-01-20T16:04:00Z",
        details=(
            "Jon: Do you still compete?\n"
            "Jon: Winning first place at the regionals is amazing! What were you doing?\n"
            "Gina: I used to go to a few competitions.\n"
            "Gina: Thanks! A contemporary piece called Finding Freedom."
        ),
    )
    got = answer("What did Gina's team perform to win first place at the regionals?", [said])
    assert got.found
    assert "Finding Freedom" in got.short


def test_a_question_offering_two_options_is_answered_with_the_one_the_memories_hold() -> None:
    memo = turn(
        "Ana",
        "The dentist moved my appointment to Wednesday at 9:30.",
        "2024-03-04T08:00:00Z",
    )
    got = answer("Is my dentist appointment on Tuesday or Wednesday?", [memo])
    assert got.found
    assert got.short == "Wednesday"
    assert got.spans[0].memory_id == memo.id
    # neither option in the memories: no choice is made up
    other = turn("Ana", "The dentist is on Elm Road.", "2024-03-04T08:00:00Z", n=2)
    assert answer("Is my dentist appointment on Monday or Friday?", [other]).short not in (
        "Monday",
        "Friday",
    )


def test_the_sentence_with_the_asked_verb_answers_when_the_best_one_only_sets_the_scene() -> None:
    memo = turn(
        "Tom",
        "I hiked the Rota Vicentina trail with my sister last week.",
        "2024-05-02T18:00:00Z",
        details="Ana: Sounds lovely, Tom.\nTom: Up there I realized that I need quieter weekends.",
    )
    got = answer("What did Tom realize after hiking the Rota Vicentina trail?", [memo])
    assert got.found
    assert "quieter weekends" in got.short


@pytest.mark.parametrize(
    ("question", "said", "expected"),
    [
        (
            "What does Lars's ring symbolize?",
            "My father gave me this ring in Bergen. It stands for patience, luck and home.",
            "patience, luck and home",
        ),
        (
            "What is Ana's blue scarf a reminder of?",
            "I wear the blue scarf a lot. It reminds me of the winters in Porto with my aunt.",
            "the winters in Porto with my aunt",
        ),
    ],
)
def test_what_a_thing_stands_for_is_said_after_any_of_its_cues(
    question: str, said: str, expected: str
) -> None:
    speaker = analyze(question).names[0].rstrip("'s")
    got = answer(question, [turn(speaker, said, "2024-01-10T10:00:00Z")])
    assert got.found
    assert got.short == expected


@pytest.mark.parametrize(
    ("question", "said", "expected"),
    [
        # no "felt": the words of feeling are the answer
        (
            "How does Ines describe the new climbing gym?",
            "Went to the new climbing gym downtown - it's spacious and welcoming!",
            "welcoming",
        ),
        # an act asked for keeps its verb ("joined a choir"), a thing drops it
        (
            "What new activity did Ines start in March?",
            "My new activity since March: I joined a choir at the community centre.",
            "joined a choir at the community centre",
        ),
    ],
)
def test_feelings_and_acts(question: str, said: str, expected: str) -> None:
    got = answer(question, [turn("Ines", said, "2024-03-20T10:00:00Z")])
    assert got.found
    assert got.short == expected


def test_of_several_names_the_one_nearest_the_question_words_answers_who() -> None:
    said = "For jazz I listen to Nina Simone, and for modern pop it's Dua Lipa's albums."
    got = answer(
        "Who does Omar listen to for modern pop?", [turn("Omar", said, "2024-02-01T09:00:00Z")]
    )
    assert got.found
    assert got.short == "Dua Lipa"


def test_how_long_so_far_also_says_since_when() -> None:
    said = "I've been playing the cello for twelve years now, and I still love it."
    got = answer(
        "How long has Ines been playing the cello?", [turn("Ines", said, "2024-02-01T09:00:00Z")]
    )
    assert got.found
    assert got.short == "twelve years (since 2012)"


@pytest.mark.parametrize(
    ("said", "expected"),
    [
        ("I like most cheeses, but manchego is my top pick.", "manchego"),
        (
            "My all-time favourite cheese has to be aged gouda from Utrecht.",
            "aged gouda from Utrecht",
        ),
    ],
)
def test_a_favourite_is_found_however_it_is_said(said: str, expected: str) -> None:
    got = answer("What is Ines's favorite cheese?", [turn("Ines", said, "2024-02-01T09:00:00Z")])
    assert got.found
    assert got.short == expected


def test_a_names_question_takes_from_other_memories_only_names() -> None:
    first = turn("Ana", "The name of our first cat is Miso.", "2024-01-05T09:00:00Z", n=1)
    second = turn("Ana", "Our cats love naming games on the balcony.", "2024-02-05T09:00:00Z", n=2)
    third = turn("Ana", "The name of our new cat is Tofu.", "2024-03-05T09:00:00Z", n=3)
    got = answer("What are the names of Ana's cats?", [first, second, third])
    assert got.found
    assert "balcony" not in got.short
    assert "Miso" in got.short and "Tofu" in got.short


def test_what_is_done_for_an_end_is_the_act_named_as_its_way() -> None:
    said = "Back to swimming in the mornings - honestly the best way to unwind after work."
    got = answer("What does Ines do to unwind?", [turn("Ines", said, "2024-02-01T09:00:00Z")])
    assert got.found
    assert got.short == "swimming"


def test_a_session_memory_says_its_turns_as_the_people_who_said_them() -> None:
    session = Memory(
        MemoryType.EPISODIC,
        {
            "occurred_at": "2025-03-04T18:00:00Z",
            "actor": "Lena, Sam",
            "event_type": "conversation-session",
            "summary": "Conversation on 4 March 2025 between Lena and Sam about cycling, river, unwind",
            "details": "Lena: Cycling along the river is the best way to unwind after work.\n"
            "Sam: I've been playing the cello for eight years now.",
        },
        id="epi_" + "S".rjust(26, "0"),
        tags=["session", "linked"],
        sources=[Source("conversation", "D1:1", "2025-03-04T18:00:00Z")],
    )
    got = answer("What does Lena do to unwind?", [session])
    assert got.found
    assert got.short == "cycling"  # not "Sam about cycling", and not the whole line as a field
    assert got.spans[0].speaker == "Lena"
    # the date is what the session's head is for
    assert answer("When did Lena and Sam talk about cycling?", [session]).short == "4 March 2025"


def test_what_a_thing_stands_for_may_be_said_in_the_speakers_next_turn() -> None:
    memo = turn(
        "Lena",
        "I finally framed the old map of Lisbon my grandfather drew.",
        "2025-03-03T09:10:00Z",
        details="Sam: That's lovely.\nLena: It stands for patience and curiosity - he walked "
        "every street he drew.",
    )
    got = answer("What does Lena's grandfather's map of Lisbon stand for?", [memo])
    assert got.found
    assert got.short == "patience and curiosity"


def test_a_screen_line_keeps_the_name_it_holds_for_who() -> None:
    line = Memory(
        MemoryType.EPISODIC,
        {
            "occurred_at": "2026-12-01T10:00:00Z",
            "event_type": "activity",
            "summary": "Worked in Terminal (git log)",
            "details": "4e1b9c7 Lena Fischer 2 hours ago Fix off-by-one in the alert threshold",
        },
        id="epi_" + "G".rjust(26, "0"),
        sources=[Source("capture", "cap_1", "2026-12-01T10:00:00Z")],
    )
    got = answer("Who fixed the off-by-one bug in the alert threshold?", [line])
    assert "Lena Fischer" in got.short
