"""Pure compliance domain: evasion-proof phrase scanning, fuzzy counterparty screening, case states."""
