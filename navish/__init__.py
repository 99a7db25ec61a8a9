"""navish: one shell over the Claude Code sessions in tmux on this machine and on SSH hosts."""

__version__ = "0.1.0"
