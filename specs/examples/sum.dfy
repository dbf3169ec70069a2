// A loop whose invariant is too weak: Dafny cannot prove the postcondition.
method SumTo(n: nat) returns (s: nat)
  ensures s == n * (n + 1) / 2
{
  s := 0;
  var i := 0;
  while i < n
    invariant i <= n
  {
    i := i + 1;
    s := s + i;
  }
}
