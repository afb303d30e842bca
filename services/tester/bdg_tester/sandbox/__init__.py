"""The test runner on sandboxd: workspace files, environment, each project's steps."""
