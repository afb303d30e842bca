"""The browser check of a built web app: headless Chromium inside the sandbox."""
