"""Events and quests on the world clock, a person's activity and the suggestions drawn from it."""
