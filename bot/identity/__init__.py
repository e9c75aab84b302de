"""Who is asking: Teams users, their sign-in links and their delegated tokens."""
