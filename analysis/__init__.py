"""Media assets, analysis jobs and results: services.py holds the logic, api/ and tasks.py are thin edges."""
