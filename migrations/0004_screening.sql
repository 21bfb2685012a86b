-- Word lists for screening at submission time, and the reasons a moderator may give for rejecting.
CREATE TABLE screening_words (
    id          INTEGER PRIMARY KEY,
    list        TEXT NOT NULL CHECK (list IN ('banned', 'suspect')),
    word        TEXT NOT NULL,
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (list, word)
);

-- Bumped whenever a list changes, so every worker knows to rebuild its automaton (and only then).
CREATE TABLE list_versions (
    name     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL
);
INSERT INTO list_versions (name, version) VALUES ('screening_words', 1);

CREATE TABLE rejection_reasons (
    id        INTEGER PRIMARY KEY,
    label     TEXT NOT NULL UNIQUE,
    position  INTEGER NOT NULL DEFAULT 0,
    active    INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
INSERT INTO rejection_reasons (label, position) VALUES
 ('与本栏目主题无关', 10),
 ('内容与已发表文章重复', 20),
 ('含有不实或无法核实的信息', 30),
 ('含有广告或推销内容', 40),
 ('含有人身攻击或不文明用语', 50),
 ('篇幅过短，内容不够具体', 60),
 ('其他原因（见备注）', 90);

-- Small sample lists; admins replace them in /admin.
INSERT INTO screening_words (list, word) VALUES
 ('banned', '赌博'), ('banned', '博彩'), ('banned', '六合彩'), ('banned', '代开发票'),
 ('banned', '办证'), ('banned', '枪支'), ('banned', '毒品'), ('banned', '裸聊'),
 ('banned', '网络刷单'), ('banned', '传销'),
 ('suspect', '加微信'), ('suspect', '加我微信'), ('suspect', '代办'), ('suspect', '包过'),
 ('suspect', '最好的'), ('suspect', '第一品牌'), ('suspect', '稳赚'), ('suspect', '免费领取'),
 ('suspect', '投诉'), ('suspect', '举报'), ('suspect', '曝光'), ('suspect', '维权');
