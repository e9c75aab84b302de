"""Meeting requests and creating them once with Graph."""
