"""Pure scoring domain: scorecards, normalisation, explainable scores, rankings and trends."""
