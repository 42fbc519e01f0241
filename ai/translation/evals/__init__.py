"""The language-id eval: typical chat lines in the world's languages, each read with the sender's
language right and wrong (`townsquare translation langid-eval`)."""
