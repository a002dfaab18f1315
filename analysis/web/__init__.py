"""The server-rendered dashboard (templates/dashboard/, static/dashboard/): thin views over the services."""
