"""The world assistant: requests in words become the client's actions, for the asker only."""
