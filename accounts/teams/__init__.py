"""Teams: a team plan's seats, given to colleagues by signed, expiring, single-use email
invitations (``services``), and the owner's page (``views``). Whether a seat makes someone a
member is decided in accounts.access only."""
