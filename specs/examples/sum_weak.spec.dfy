// A weak contract for 1 + 2 + ... + n: it bounds the sum instead of stating it.
method SumUpTo(n: nat) returns (s: nat)
  ensures s <= n * n
