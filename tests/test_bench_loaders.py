"""`qed bench` loaders: exact counts and ids against ../shared/benchmarks, what each task gives, selection."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import datasets
from bench.tasks import safe_name
from tests.conftest import FIXTURES
from verifier.errors import BadInput
from verifier.tasks import Mode

DATA = datasets.data_root()
needs_data = pytest.mark.skipif(not (DATA / "README.md").is_file(),
                                reason=f"needs the benchmarks folder at {DATA} (or set QED_BENCH_DATA)")


@needs_data
@pytest.mark.parametrize("name, variant, count, first, mode, language", [
    ("dafnybench", None, 782, "630-dafny_tmp_tmpz2kokaiq_Solution", Mode.annotate, "dafny"),
    ("mbpp-dfy", None, 166, "task_id_2", Mode.implement, "dafny"),
    ("humaneval-dafny", None, 132, "000-has_close_elements", Mode.implement, "dafny"),
    ("humaneval-dafny", "write-contract", 132, "000-has_close_elements", Mode.from_description, "dafny"),
    ("vericoding", None, 2334, "DA0000", Mode.implement, "dafny"),
    ("vericoding", "all", 3029, "DA0000", Mode.implement, "dafny"),
    ("clever", None, 161, "problem_0", Mode.implement, "lean"),
    ("verina", None, 189, "verina_advanced_1", Mode.implement, "lean"),
    ("fvapps", None, 4006, "fvapps_000000", Mode.implement, "lean"),
])
def test_counts_ids_and_modes(name, variant, count, first, mode, language):
    tasks = datasets.load(name, variant=variant)
    assert len(tasks) == count
    assert len({t.id for t in tasks}) == count  # ids are unique
    assert tasks[0].id == first
    assert {t.mode for t in tasks} == {mode} and {t.language for t in tasks} == {language}
    assert all(t.dataset == name for t in tasks)


@needs_data
def test_ground_truths_where_the_data_has_them():
    assert sum(t.ground_truth is not None for t in datasets.load("dafnybench")) == 782
    assert sum(t.ground_truth is not None for t in datasets.load("vericoding")) == 0
    assert sum(t.ground_truth is not None for t in datasets.load("clever")) == 4  # implementation and proof filled
    assert sum(t.ground_truth is not None for t in datasets.load("verina")) == 46  # proof complete
    assert sum(t.ground_truth is not None for t in datasets.load("fvapps")) == 0


@needs_data
def test_dafnybench_ids_are_the_ground_truth_file_names():
    tasks = {t.id: t for t in datasets.load("dafnybench")}
    gt = DATA / "DafnyBench" / "DafnyBench" / "dataset" / "ground_truth"
    stems = {p.stem for p in gt.glob("*.dfy")}
    assert set(tasks) <= stems and len(stems - set(tasks)) == 3  # the three without a hints-removed twin
    spaced = next(i for i in tasks if " " in i)  # upstream names keep their spaces; files get a safe name
    assert " " not in safe_name(spaced)
    t = tasks["630-dafny_tmp_tmpz2kokaiq_Solution"]
    assert t.given == (gt.parent / "hints_removed" / "630-dafny_tmp_tmpz2kokaiq_Solution_no_hints.dfy").read_text()


@needs_data
def test_mbpp_contract_has_bodiless_methods_nl_text_and_examples():
    t = next(t for t in datasets.load("mbpp-dfy") if t.id == "task_id_2")
    assert t.description.startswith("Write a method in Dafny to find the shared elements")
    assert "method SharedElements(a: array<int>, b: array<int>) returns (result: seq<int>)" in t.given
    assert "ensures forall x :: x in result" in t.given and "var res" not in t.given  # the body is gone
    assert "predicate InArray" in t.given and "exists i ::" in t.given  # helper predicates keep their bodies
    assert t.examples[0] == ("SharedElements(new int[] [3, 4, 5, 6],new int[] [5, 7, 4, 10])", "[4, 5]")
    assert len(t.examples) == 3
    st = t.materialize(Path("/tmp") / "qed-bench-test-mbpp")
    assert st.mode == Mode.implement and st.spec.read_text() == t.given and st.examples[0].expect == "[4, 5]"



@needs_data
def test_mbpp_examples_come_from_every_form_the_tests_state_them_in():
    """`expect r == E;`, `assert (r == E);`, a check the authors disabled (`//assert r == E;`) and an `// expected
    E` comment below a printed result all give examples; a call the authors commented out gives none."""
    by = {t.id: t.examples for t in datasets.load("mbpp-dfy")}
    assert by["task_id_3"] == (("IsNonPrime(2)", "false"), ("IsNonPrime(10)", "true"), ("IsNonPrime(35)", "true"))
    assert by["task_id_8"][1] == ("SquareElements(new int[] [10,20,30])", "[100,400,900]")  # PrintArray + comment
    assert by["task_id_61"][0] == ('CountSubstringsWithSumOfDigitsEqualToLength("112112")', "6")  # `//assert`
    assert by["task_id_776"] == (('CountVowelNeighbors("bestinstareels")', "7"),)  # the other two are commented out
    assert by["task_id_57"] == ()  # its test only prints
    assert sum(1 for e in by.values() if e) == 149 and sum(map(len, by.values())) == 445


@needs_data
def test_humaneval_expected_values_may_hold_the_message_separator():
    t = next(t for t in datasets.load("humaneval-dafny") if t.id == "001-separate-paren-groups")
    assert t.examples[0] == ('separate_paren_groups("(()()) ((())) () ((())()())")',
                             '["(()())", "((()))", "()", "((())()())"]')
    assert sum(1 for t in datasets.load("humaneval-dafny") if t.examples) == 112

@needs_data
def test_humaneval_keeps_the_marked_contract_and_reads_tests_and_text():
    t = next(t for t in datasets.load("humaneval-dafny") if t.id == "000-has_close_elements")
    assert "requires threshold > 0.0" in t.given and "ensures flag ==" in t.given
    assert "impl-start" not in t.given and "function abs(val : real): real" in t.given
    assert "has_close_elements" in t.description and "closer to each other" in t.description
    assert t.examples[0] == ("has_close_elements([1.0, 2.0, 3.9, 4.0, 5.0, 2.2], 0.3)", "true")
    w = next(t for t in datasets.load("humaneval-dafny", variant="write-contract") if t.id == "000-has_close_elements")
    assert w.given is None and w.oracle_contract == t.given and w.ground_truth == t.ground_truth


@needs_data
def test_vericoding_contract_is_preamble_helpers_spec_postamble():
    rows = {json.loads(l)["id"]: json.loads(l) for l in
            (DATA / "vericoding" / "jsonl" / "dafny_tasks.jsonl").read_text().splitlines()}
    t = next(t for t in datasets.load("vericoding") if t.id == "DA0000")
    row = rows["DA0000"]
    assert t.given.startswith(row["vc-preamble"]) and row["vc-spec"] in t.given
    assert "assume {:axiom} false" not in t.given  # the placeholder body is not part of the contract
    assert t.meta["source"] == "apps" and t.description.startswith("Given a positive integer x")
    issues = [t for t in datasets.load("vericoding", variant="all") if t.meta["set"] == "dafny_issues"]
    assert len(issues) == 695


@needs_data
def test_lean_tasks_load_with_their_sections():
    c = next(t for t in datasets.load("clever") if t.id == "problem_0")
    assert "def problem_spec" in c.given and "def implementation" in c.given
    assert c.description.startswith("Check if in given list of numbers")
    v = next(t for t in datasets.load("verina") if t.id == "verina_basic_1")
    assert "a * b < 0" not in v.given and "sorry" in v.given and v.ground_truth and "a * b < 0" in v.ground_truth
    f = datasets.load("fvapps")[0]
    assert "def solve" in f.given and "theorem" in f.given and "Polycarp" in f.description


def test_fstar_dataset_fixture_in_its_documented_format():
    tasks = datasets.load("fstar", data=FIXTURES / "bench" / "fstar")
    assert [t.id for t in tasks] == ["Sample.Arith.add_comm", "Sample.Arith.double"]
    t = tasks[0]
    assert t.language == "fstar" and t.mode == Mode.implement
    assert t.given.startswith("module Sample.Arith\nopen FStar.Mul\nmodule L = FStar.List.Tot\n")
    assert "val add_comm : a: Prims.int -> b: Prims.int" in t.given
    assert "let add_comm a b = ()" in t.ground_truth
    assert t.meta["split"] == "test_cross_project"


def test_fstar_dataset_rejects_malformed_entries(tmp_path):
    (tmp_path / "bad.json").write_text(json.dumps([{"name": "X.y"}]))
    with pytest.raises(BadInput, match="entry 0 lacks one of file_name"):
        datasets.load("fstar", data=tmp_path)
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(BadInput, match="not valid JSON"):
        datasets.load("fstar", data=tmp_path)


def test_local_folder_of_task_files(tmp_path):
    (tmp_path / "abs.spec.dfy").write_text("method Abs(x: int) returns (y: int)\n  ensures y >= 0\n")
    (tmp_path / "abs.yaml").write_text("id: abs\nlanguage: dafny\ndescription: absolute value\nspec: abs.spec.dfy\n"
                                       "examples: [{call: 'Abs(-3)', expect: '3'}]\n")
    (tmp_path / "abs.solution.dfy").write_text("method Abs(x: int) returns (y: int)\n  ensures y >= 0\n{ y := 0; }\n")
    [t] = datasets.load("local", data=tmp_path)
    assert (t.id, t.mode, t.examples) == ("abs", Mode.implement, (("Abs(-3)", "3"),))
    assert "y := 0" in t.ground_truth and t.given.startswith("method Abs")
    with pytest.raises(BadInput, match="needs a folder"):
        datasets.load("local")


def test_selection_tasks_filter_limit_shuffle(tmp_path):
    from bench.tasks import BenchTask

    tasks = [BenchTask(dataset="d", id=f"t{i}", language="dafny", mode=Mode.implement, description="x")
             for i in range(10)]
    assert [t.id for t in datasets.select(tasks, ids=["t3", "t1", "t3"])] == ["t3", "t1"]
    assert [t.id for t in datasets.select(tasks, pattern="t[12]")] == ["t1", "t2"]
    assert [t.id for t in datasets.select(tasks, limit=2)] == ["t0", "t1"]
    a = datasets.select(tasks, shuffle=7)
    assert a == datasets.select(tasks, shuffle=7) and a != tasks and sorted(t.id for t in a) == [t.id for t in tasks]
    with pytest.raises(BadInput, match="unknown task id.*nope"):
        datasets.select(tasks, ids=["t1", "nope"])
    f = tmp_path / "ids.txt"
    f.write_text("# chosen\nt4\n\nt5\n")
    assert datasets.read_ids(f"@{f}") == ["t4", "t5"] and datasets.read_ids("a, b,") == ["a", "b"]


def test_unknown_dataset_and_variant_and_missing_data(tmp_path, monkeypatch):
    with pytest.raises(BadInput, match="unknown dataset 'nope'"):
        datasets.load("nope")
    with pytest.raises(BadInput, match="no variant 'x'"):
        datasets.load("vericoding", variant="x")
    monkeypatch.setenv("QED_BENCH_DATA", str(tmp_path / "missing"))
    with pytest.raises(BadInput, match="QED_BENCH_DATA"):
        datasets.load("dafnybench")
    monkeypatch.setenv("QED_BENCH_DATA", str(tmp_path))
    with pytest.raises(BadInput, match="dafnybench: folder"):
        datasets.load("dafnybench")


def test_shipped_defects_lists_are_data_with_reasons():
    from bench import defects

    for f in defects.FOLDER.glob("*.json"):
        doc = json.loads(f.read_text())
        assert doc["dataset"] == f.stem and doc["defects"]
        assert all(d["id"] and d["reason"] for d in doc["defects"])
    assert "task_id_747" in defects.known("mbpp-dfy") and defects.known("nope") == {}


@needs_data
def test_answer_files_match_ids_and_aliases(tmp_path):
    from bench.answers import match_answers

    tasks = datasets.select(datasets.load("humaneval-dafny"), ids=["012-longest", "000-has_close_elements"]) + \
        datasets.select(datasets.load("mbpp-dfy"), ids=["task_id_8", "task_id_80"])
    for name in ("HumanEval_12.dfy", "000-has_close_elements.answer.dfy", "task_id_80_x.dfy", "task_id_8.lean"):
        (tmp_path / name).write_text("x")
    found = {k[1]: v.name for k, v in match_answers(tmp_path, tasks).items()}
    assert found == {"012-longest": "HumanEval_12.dfy", "000-has_close_elements": "000-has_close_elements.answer.dfy",
                     "task_id_80": "task_id_80_x.dfy"}  # task_id_8 has none: `.lean` is not Dafny
