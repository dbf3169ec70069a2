// A weak contract for 1 + 2 + ... + n: it only says that the sum is not negative.
method SumUpTo(n: nat) returns (s: int)
  ensures s >= 0
