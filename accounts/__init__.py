"""Users, roles (roles.py is the single RBAC truth), API keys and JWT endpoints."""
