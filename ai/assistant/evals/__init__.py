"""The assistant eval: commands in the five languages with the action each should become."""
