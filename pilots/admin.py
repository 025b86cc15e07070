from . import admin_breaches, admin_declarations  # noqa: F401  (registers their ModelAdmins)
