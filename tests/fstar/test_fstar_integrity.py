"""The F* integrity guard: escapes are found wherever F* would read them (and only there), the contract is
compared on parsed, whitespace- and comment-insensitive declarations, and messages say what to change."""

from __future__ import annotations

import pytest

from backends.fstar.integrity import RULES, contract_problems, guard
from backends.fstar.lexer import tokenize
from backends.fstar.syntax import outline

CONTRACT = """module Abs

open FStar.List.Tot

let spec_abs (x:int) : int = if x < 0 then -x else x

val abs (x:int) : y:int{y == spec_abs x /\\ y >= 0}
"""
HONEST = "module Abs\n\nlet abs x = if x < 0 then -x else x\n"


def rules(source: str, contract: str | None = CONTRACT) -> list[str]:
    return [f.rule for f in guard(source, contract).violations]


def test_an_honest_implementation_passes():
    assert rules(HONEST) == []
    assert rules(HONEST, None) == []


@pytest.mark.parametrize("body,rule", [
    ("let abs x = admit ()", "QED-F101"),
    ("let abs x = FStar.Pervasives.admit ()", "QED-F101"),
    ("let abs x = magic ()", "QED-F101"),
    ("let abs x = (assert False by (tadmit ())); 0", "QED-F101"),
    ("let abs (x:int) : y:int{y >= 0} = admitP (x >= 0); x", "QED-F101"),
    ("assume val cheat : int -> int\nlet abs x = cheat x", "QED-F102"),
    ("let abs x = assume (x >= 0); x", "QED-F102"),
    ("assume type t", "QED-F102"),
    ('#set-options "--admit_smt_queries true"\nlet abs x = x', "QED-F103"),
    ('#push-options "--lax"\nlet abs x = x', "QED-F103"),
    ('#reset-options "--z3rlimit 5 --warn_error -296"\nlet abs x = x', "QED-F103"),
    ('#push-options "--admit_except foo"\nlet abs x = x', "QED-F103"),
    ('#set-options "--smt /tmp/liar"\nlet abs x = x', "QED-F103"),
    ("[@@expect_failure]\nlet abs x = x", "QED-F104"),
    ("[@@ expect_failure [19]]\nlet abs x = x", "QED-F104"),
    ("[@expect_lax_failure]\nlet abs x = x", "QED-F104"),
    ("[@@ FStar.Pervasives.admit_termination]\nlet rec abs x = abs x", "QED-F104"),
    ("new_effect FOO = STATE", "QED-F105"),
    ("%splice[abs] (make_abs ())", "QED-F106"),
    ("```pulse\nfn abs () { admit }\n```", "QED-F107"),
    ("#lang-pulse\nlet abs x = x", "QED-F107"),
    ('let abs x = assert True by (set_options "--admit_smt_queries true"); x', "QED-F108"),
    ("friend Abs\nlet abs x = x", "QED-F007"),
])
def test_each_escape_is_refused_with_its_rule(body, rule):
    found = guard("module Abs\n\n" + body + "\n", CONTRACT).violations
    assert rule in [f.rule for f in found], found
    f = next(f for f in found if f.rule == rule)
    assert f.line and f.line >= 3 and RULES[f.rule][0] in ("escape", "contract")
    assert any(w in f.message for w in ("remove", "Remove", "write", "use", "give")), f.message


def test_pragmas_that_only_tune_the_solver_pass():
    src = 'module Abs\n#push-options "--z3rlimit 20 --fuel 2 --ifuel 1 --split_queries always"\nlet abs x = if x < 0 then -x else x\n#pop-options\n#reset-options\n'
    assert rules(src) == []


@pytest.mark.parametrize("hidden", [
    "(* admit () *)", "(* (* nested *) admit () *)", "// admit ()", "(* unterminated admit () ",
])
def test_text_f_star_does_not_read_is_not_blamed(hidden):
    assert rules(HONEST + hidden + "\n") == []


@pytest.mark.parametrize("trap", [
    "// IN F*: let sneaky = admit ()",       # F* reads the rest of the line as code
    "(* a *) let sneaky = admit ()",
    "let sneaky = ``admit`` ()",                # a back-quoted identifier is still `admit`
    "let sneaky x = x +//comment\n  admit ()",  # an operator run stops before `//`
    "(*) comment *) let sneaky = admit ()",     # `(*)` opens a comment in F*, which `*)` closes
])
def test_code_f_star_does_read_is_scanned(trap):
    assert "QED-F101" in rules(HONEST + trap + "\n"), trap


def test_lexer_positions_and_strings():
    toks = tokenize('let s = "a \\" (* not a comment" (* c *) in\n  admit ()')
    assert [t.text for t in toks][:4] == ["let", "s", "=", 'a \\" (* not a comment']
    adm = next(t for t in toks if t.text == "admit")
    assert (adm.line, adm.col) == (2, 3)
    assert [t.kind for t in tokenize("'a 'b' x'")] == ["tvar", "char", "ident"]


def test_declarations_compare_without_whitespace_or_comments():
    a = outline("val abs (x:int) : y:int{y >= 0}")
    b = outline("val abs\n  (x : int) (* the input *) :\n  y:int { y >= 0 }  // result")
    assert a.decls[0].key == b.decls[0].key and a.decls[0].names == ["abs"]


def test_a_contract_val_redeclared_with_another_type_is_refused():
    src = "module Abs\nval abs (x:int) : int\nlet abs x = x\n"
    found = guard(src, CONTRACT).violations
    assert [f.rule for f in found] == ["QED-F002"] and "val abs" in found[0].message and found[0].line == 2
    same = "module Abs\nval abs (x : int) : y : int { y == spec_abs x /\\ y >= 0 }  (* same *)\n" \
           "let abs x = if x < 0 then -x else x\n"
    assert rules(same) == []


def test_the_contracts_definitions_and_names_are_frozen():
    assert rules("module Abs\nlet spec_abs (x:int) : int = 0\nlet abs x = 0\n") == ["QED-F003"]
    # shadowing a name the contract uses (here `int`) would change what the contract means
    assert "QED-F004" in rules("module Abs\ntype int = | Zero\nlet abs x = x\n")
    assert rules("module Other\nlet abs x = x\n") == ["QED-F001"]
    assert rules("let abs x = x\n")[0] == "QED-F001"


def test_opens_and_aliases_that_could_change_the_contract_are_refused():
    assert rules("module Abs\nopen FStar.Seq\nlet abs x = if x < 0 then -x else x\n") == ["QED-F005"]
    assert rules("module Abs\nopen FStar.List.Tot\nlet abs x = if x < 0 then -x else x\n") == []
    assert rules("module Abs\nlet abs x = let open FStar.Seq in if x < 0 then -x else x\n") == []
    contract = "module M\nmodule L = FStar.List.Tot\nval f (l:list int) : n:nat{n == L.length l}\n"
    assert rules("module M\nmodule L = FStar.Seq\nlet f l = 0\n", contract) == ["QED-F006"]
    assert rules("module M\nmodule S = FStar.Seq\nlet f l = FStar.List.Tot.length l\n", contract) == []


def test_escapes_the_contract_gives_are_trusted_assumptions_not_violations():
    contract = "module M\nassume val oracle : nat -> nat\nval f (n:nat) : r:nat{r == oracle n}\n"
    report = guard("module M\nlet f n = oracle n\n", contract)
    assert report.violations == []
    assert [a.rule for a in report.assumptions] == ["QED-F102"] and report.assumptions[0].line == 2
    # a copy of the contract's own declaration is the contract's
    assert guard("module M\nassume val oracle : nat -> nat\nlet f n = oracle n\n", contract).violations == []


def test_without_a_contract_the_whole_file_and_its_interface_are_scanned():
    assert rules("module A\nlet x = admit ()\n", None) == ["QED-F101"]
    report = guard("module A\nlet x = 1\n", None, interface_source="module A\nassume val y : int\n")
    assert [f.rule for f in report.violations] == ["QED-F102"] and "interface" in report.violations[0].message


def test_contract_problems_name_what_a_usable_contract_needs():
    assert contract_problems(CONTRACT) == []
    probs = contract_problems("let f x = x\n")
    assert any("module" in p for p in probs) and any("val" in p for p in probs)
    assert any("assume" in p for p in contract_problems("module M\nassume val f : int\n"))


@pytest.mark.parametrize("body", [
    'let t () : Tac unit = exact (pack (Tv_FVar (pack_fv ["Prims"; "ad" ^ "mit"])))',
    'let t () : Tac unit = exact (pack (Tv_FVar (pack_fv (explode_qn q))))',
    'let names = ["Prims.admit"]',
])
def test_code_built_from_text_is_refused(body):
    assert "QED-F109" in rules("module Abs\nlet abs x = if x < 0 then -x else x\n" + body + "\n")


def test_a_huge_hostile_file_is_scanned_quickly():
    import time

    # the largest candidate `qed synth` accepts is 256,000 characters; this is 300,000 of dense tokens
    big = "module Abs\n" + "let f (x:int) : int = (((((x + 1) * 2) - 3) / 4) % 5) (* c *) // d\n" * 4200
    t = time.monotonic()
    report = guard(big + "let abs x = admit ()\n", CONTRACT)
    assert time.monotonic() - t < 10 and [f.rule for f in report.violations][-1] == "QED-F101"


def test_assume_val_is_one_declaration():
    m = outline("module M\nassume val f : int -> int\nassume\n  type t\nval g : int\n")
    assert [(d.kind, d.names) for d in m.decls] == [("module", ["M"]), ("assume", ["f"]), ("assume", ["t"]),
                                                    ("val", ["g"])]
    [f] = guard("module Abs\nassume val f : int\nlet abs x = if x < 0 then -x else x\n", CONTRACT).violations
    assert f.message.startswith("`assume val` at line 2") and f.member == "f"


def test_indented_top_level_declarations_are_still_declarations():
    m = outline("module M\nlet a = f x\n  let length (l:list int) : nat = 0\n"
                "let b = let y = 1 in\n  let z = 2 in y + z\n[@@ inline_let]\n let c = (let q = 1 in q)\n")
    assert [(d.kind, d.names) for d in m.decls] == [("module", ["M"]), ("let", ["a"]), ("let", ["length"]),
                                                    ("let", ["b"]), ("let", ["c"])]
    contract = "module M\nopen FStar.List.Tot\nval f (l:list int) : n:nat{n == length l}\n"
    assert rules("module M\nopen FStar.List.Tot\nlet g = 1\n  let length (l:list int) : nat = 0\n"
                 "let f l = length l\n", contract) == ["QED-F004"]


HONEST_CONTRACT = """module Sorted
open FStar.Mul

type color = | Red | Green | Blue

noeq type pair = { fst_ : int; snd_ : int }

let rec sorted (l:list int) : bool =
  match l with
  | [] | [_] -> true
  | x :: y :: tl -> x <= y && sorted (y :: tl)

let rec count (x:int) (l:list int) : nat =
  match l with
  | [] -> 0
  | hd :: tl -> (if hd = x then 1 else 0) + count x tl

val insert (x:int) (l:list int{sorted l})
  : r:list int{sorted r /\\ (forall y. count y r == count y l + (if y = x then 1 else 0))}

val square_nonneg (x:int) : Lemma (x * x >= 0)

val pick (c:color) : int
"""

HONEST_IMPL = """module Sorted
open FStar.Mul

(* helpers get fresh names; lemmas with SMT patterns; local opens; solver limits raised locally *)
let rec insert_sorted_lemma (x:int) (l:list int{sorted l})
  : Lemma (ensures True) (decreases l) = match l with | [] -> () | _ :: tl -> ()

#push-options "--z3rlimit 20 --fuel 2 --ifuel 1"
let rec insert x l =
  match l with
  | [] -> [x]
  | hd :: tl ->
    if x <= hd then x :: l
    else begin
      let r = insert x tl in
      assert (sorted r);
      hd :: r
    end
#pop-options

let square_nonneg x =
  let open FStar.Math.Lemmas in
  calc (>=) { x * x; >= { () } 0; }

let pick c = match c with | Red -> 1 | Green -> 2 | Blue -> FStar.List.Tot.length [1; 2; 3]

let aux_pair (p:pair) : int = p.fst_ + p.snd_
[@@"opaque_to_smt"]
let hidden_helper (n:nat) : nat = n + 1
"""


def test_an_honest_realistic_module_passes():
    report = guard(HONEST_IMPL, HONEST_CONTRACT)
    assert report.violations == [] and report.assumptions == []
    assert contract_problems(HONEST_CONTRACT) == []
