function AbsSpec(x: int): int { if x < 0 then -x else x }

// Dafny accepts this file (with a warning); qed rejects it: the postconditions are assumed, not proved.
method Abs(x: int) returns (y: int)
  ensures y == AbsSpec(x)
  ensures y >= 0
{
  y := x;
  assume y == AbsSpec(x) && y >= 0;
}
