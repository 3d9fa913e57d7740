import pytest

from line_mcp.knowledge.wordnet import (
    WORDNET_ROOT,
    WordNet,
    WordNetNotInstalledError,
    imagenet_offsets,
)
from tests.knowledge.tiny_wordnet import write_tiny_wordnet


@pytest.fixture
def tiny(tmp_path):
    offsets = write_tiny_wordnet(tmp_path / "wn")
    return WordNet(tmp_path / "wn"), offsets


def test_relations_of_the_tiny_graph(tiny):
    wn, offsets = tiny
    dog = wn.synsets("Dogs")[0]
    assert dog.offset == offsets["dog"] and dog.name == "dog"
    assert [s.name for s in wn.hypernyms(dog)] == ["canine"]
    assert {s.name for s in wn.hyponyms(dog)} == {"puppy", "dalmatian"}
    assert {s.name for s in wn.siblings(dog)} == {"wolf", "fox"}
    assert wn.depth(dog) == 7
    assert wn.synsets("wolves")[0].name == "wolf"  # noun.exc
    assert wn.synsets("red-wolf")[0].name == "red wolf"
    assert wn.synsets("teapot") == []


def test_lowest_common_hypernym(tiny):
    wn, _ = tiny
    dog, wolf, cat = (wn.synsets(w)[0] for w in ("dog", "wolf", "cat"))
    assert wn.lowest_common_hypernym([dog, wolf]).name == "canine"
    assert wn.lowest_common_hypernym([dog, wolf, cat]).name == "animal"
    assert wn.lowest_common_hypernym([dog]).name == "dog"
    assert wn.lowest_common_hypernym([]) is None
    covered = {wn.synset(o).name for o in wn.covers([wn.synsets("puppy")[0].offset])}
    assert {"puppy", "dog", "canine", "entity"} <= covered
    assert "cat" not in covered


def test_missing_files_say_what_to_install(tmp_path):
    with pytest.raises(WordNetNotInstalledError, match="wordnet-base"):
        WordNet(tmp_path)


@pytest.mark.skipif(not (WORDNET_ROOT / "data.noun").exists(), reason="wordnet-base missing")
def test_installed_wordnet_links_imagenet_classes():
    wn = WordNet()
    cat, dog = wn.synsets("cat")[0], wn.synsets("dog")[0]
    assert wn.lowest_common_hypernym([cat, dog]).name == "carnivore"
    offsets = imagenet_offsets()
    if offsets:  # imagenet-classes installed: class 1 is goldfish
        assert len(offsets) == 1000
        assert wn.synset(offsets[1]).name == "goldfish"


@pytest.mark.skipif(not (WORDNET_ROOT / "data.noun").exists(), reason="wordnet-base missing")
@pytest.mark.parametrize(
    ("board", "word", "hypernym", "wrong"),
    [
        (["shrimp", "crab", "lobster"], "shrimp", "decapod crustacean", "small person"),
        (["sponge", "starfish", "coral"], "sponge", "invertebrate", "absorbent material"),
    ],
)
def test_the_summary_uses_the_sense_the_board_supports(board, word, hypernym, wrong):
    from line_mcp.core.candidates import ConceptKnowledge
    from line_mcp.core.scoreboard import ScoreboardEntry

    wn = WordNet()
    knowledge = ConceptKnowledge(wn, None, frozenset(wn.covers(imagenet_offsets())))
    # Alone, the word's first (non-visual) sense is the wrong one.
    assert wn.hypernyms(knowledge.sense(word))[0].name == wrong
    chosen = knowledge.senses_in_context(board)[word]
    assert hypernym in {h.name for h in wn.hypernyms(chosen)} | {
        wn.synset(o).name for o in wn.ancestors(chosen)
    }
    top = [
        ScoreboardEntry(concept=c, score=1 - i / 10, step=0, novel=False)
        for i, c in enumerate(board)
    ]
    concepts = [c.concept for c in knowledge.candidates(top, summary=True)]
    assert concepts[0] == hypernym and wrong not in concepts
