"""How good is the claim checker? Precision and recall of "unsupported" on labelled claims."""
