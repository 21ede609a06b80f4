"""Identity domain: org tree, employees, accounts and lockout, roles and grants, bulk import. Pure Python."""
