"""CitizenVoice · 写给下一个五年: a citizen-voice platform for a city newspaper."""
