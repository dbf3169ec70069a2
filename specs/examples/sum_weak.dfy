// A right implementation of sum_weak.spec.dfy; `qed audit` finds mutants of it that the contract lets through.
method SumUpTo(n: nat) returns (s: int)
  ensures s >= 0
{
  s := 0;
  var i := 0;
  while i < n
    invariant 0 <= i <= n
    invariant s >= 0
  {
    i := i + 1;
    s := s + i;
  }
}
