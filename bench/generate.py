"""Fill a fresh CitizenVoice database with N realistic essays, for the load benchmark.

    python bench/generate.py 100000                      # bench/data/100000/citizenvoice.db
    python bench/generate.py 20000 --db /tmp/cv/citizenvoice.db --seed 7

What it writes (all through the real migrations, so the schema is the app's own):

* N essays of 400–1,500 CJK characters, sentences built from a few hundred words about the city's
  boards (ports, logistics, new energy, elderly care, parks, schools, hospitals, villages, finance,
  talent …) plus a long tail of generated street and village names, with Chinese punctuation and
  paragraphs. Every board and every author role occurs.
* About 10 % pending (the newest submissions), a few rejected, withdrawn, needing revision and
  unpublished, 1 % printed, the rest published; some featured, some with one of a few small photos.
* For each essay its first revision and the events lifecycle would have recorded (submit, approve,
  reject …), with versions bumped the same way.
* The search index for every published or printed essay, built from ``lifecycle.search_doc`` and
  search.py's own normalisation and shadow-text helpers, so it is identical to what
  ``search.index_essay`` would write (tests/test_bench_tools.py checks this token by token).
* What screening leaves behind: 16 MinHash band keys per essay (synthetic: unique hashes, since
  computing real signatures costs ~20 ms an essay, and real essays rarely share a band anyway), and
  for the few pending essays that carry a banned (high risk) or suspect word, their flags as the
  real screener finds them.
* Two staff users, ``bench-mod`` (moderator) and ``bench-editor`` (editor), password PASSWORD.

Speed: text is generated in worker processes while the main process inserts with ``executemany``
in a handful of large transactions (journal off, synchronous off: a failed run is simply rerun).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import multiprocessing
import os
import random
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `citizenvoice` importable
    sys.path.insert(0, str(ROOT))

from citizenvoice import db as database  # noqa: E402
from citizenvoice.domain import lifecycle, photos, screening  # noqa: E402
from citizenvoice.model.essays import PUBLIC_STATUSES, Status  # noqa: E402
from citizenvoice.settings import Settings  # noqa: E402
from citizenvoice.store import search  # noqa: E402
from citizenvoice.store.essays import Essay, token_hash  # noqa: E402

GENERATOR_VERSION = 2  # bump when the data changes shape, so run.py regenerates stale databases
PASSWORD = "bench-password-2026"
STAFF = (("bench-mod", "基准审核员", "moderator"), ("bench-editor", "基准编辑", "editor"))
LOAD_HASHSIZE = 64 * 1024 * 1024
FTS5_DEFAULT_HASHSIZE = 1024 * 1024
CHUNK = 1000  # essays per work unit handed to a generator process
COMMIT_EVERY = 25_000  # essays per transaction
PHOTO_SHARE = 0.08
FEATURED_SHARE = 0.02

# Shares of the minor statuses; pending is PENDING_SHARE, published takes the rest.
PENDING_SHARE = 0.10
MINOR_SHARES = {
    Status.REJECTED: 0.03,
    Status.WITHDRAWN: 0.01,
    Status.NEEDS_REVISION: 0.005,
    Status.UNPUBLISHED: 0.005,
    Status.PRINTED: 0.01,
}
ROLES = ("resident", "community", "enterprise", "research", "public_sector", "student", "other")
ROLE_WEIGHTS = (40, 12, 14, 8, 10, 10, 6)

# ---------------------------------------------------------------------------------------------------
# Vocabulary. Words are chosen so that no two adjacent ones can spell a screening word (代办, 办证,
# 投诉 …): no word ends in 代/办/投 or starts with 证/诉/办, and none holds 举/报/曝/维/赚/博.

TOPICS: dict[str, tuple[str, ...]] = {
    "business-environment": (
        "营商环境", "政务服务", "一网通办", "审批流程", "市场主体", "小微企业", "个体工商户", "窗口服务",
        "企业开户", "纳税服务", "信用体系", "公平竞争", "招商引资", "项目落地", "惠企政策", "办事效率",
        "帮办服务", "首问负责", "营业执照", "跑腿次数", "政策兑现", "企业家", "服务专员", "口碑",
    ),
    "logistics-hub": (
        "锦州港", "集装箱", "海铁联运", "物流枢纽", "中欧班列", "冷链仓库", "货运码头", "航线", "港口",
        "堆场", "货代公司", "通关时间", "多式联运", "铁路专线", "物流园区", "运输成本", "拼箱服务",
        "新能源集卡", "航运", "散货泊位", "腹地", "装卸效率", "保税仓库", "班轮",
    ),
    "strategic-reserve": (
        "粮食储备", "能源储备", "应急物资", "产业备份", "供应链安全", "储备基地", "油气储运", "石化产业",
        "粮库", "应急保障", "关键零部件", "生产能力", "仓储设施", "物资调运", "产业链", "安全底座",
        "原材料", "储备体系", "战略物资", "备用产能",
    ),
    "new-energy-hub": (
        "新能源", "风电场", "光伏电站", "氢能", "储能电站", "绿色电力", "充电桩", "电网", "海上风电",
        "光伏板", "电池材料", "清洁能源", "碳排放", "节能改造", "屋顶光伏", "新能源汽车", "换电站",
        "风机叶片", "绿电交易", "零碳园区", "电解槽", "运维工程师",
    ),
    "education-talent": (
        "学校", "课后服务", "老师", "职业教育", "高校毕业生", "人才公寓", "科研成果", "实验室", "校企合作",
        "产教融合", "青年人才", "研究生", "实训基地", "人才政策", "创新平台", "技能培训", "图书馆",
        "学区", "幼儿园", "留住人才", "成果转化", "工程师", "大学生创业",
    ),
    "port-industry-city": (
        "临港产业", "港城融合", "产业园区", "滨海新区", "城市功能", "产业工人", "通勤班车", "配套设施",
        "装备制造", "石油化工", "精细化工", "港区道路", "产城融合", "就业岗位", "城市更新", "海岸线",
        "临港经济", "产业集群", "园区食堂", "职工宿舍",
    ),
    "finance-center": (
        "金融服务", "融资难题", "普惠金融", "小额贷款", "银行网点", "信用贷款", "融资担保", "资本市场",
        "保险服务", "数字人民币", "创业贷款", "贷款利率", "金融活水", "实体经济", "供应链金融",
        "农村金融", "移动支付", "理财知识", "风险防范", "上市企业",
    ),
    "open-cooperation": (
        "开放合作", "对外贸易", "跨境电商", "外资企业", "自贸试验", "东北亚", "国际航线", "会展经济",
        "友好城市", "进出口", "海外市场", "合作项目", "外贸企业", "国际物流", "招商推介", "营商口碑",
        "开放平台", "交流合作", "区域协同", "沿海经济带",
    ),
    "rural-revitalization": (
        "乡村振兴", "村集体", "合作社", "农产品", "大棚蔬菜", "乡村旅游", "农民增收", "电商直播",
        "村道", "农田水利", "种粮大户", "果园", "村口", "第一书记", "农家乐", "冷链运输", "高标准农田",
        "返乡青年", "乡村学校", "村卫生室", "特色产业", "黑山", "北镇葡萄", "义县",
    ),
    "silver-economy": (
        "养老服务", "老年食堂", "社区养老", "居家养老", "老年大学", "助餐服务", "助浴服务", "适老化改造",
        "智能手环", "护理员", "长期护理保险", "日间照料中心", "银发经济", "老年人", "康养产业", "健康讲座",
        "老年活动室", "家庭医生", "独居老人", "志愿者", "养老机构", "陪诊服务",
    ),
    "wellbeing": (
        "医院", "就医", "挂号", "医保", "社区医院", "公交线路", "停车位", "老旧小区", "供暖", "物业服务",
        "菜市场", "就业", "住房", "学校门口", "早餐店", "便民服务", "电梯加装", "垃圾分类", "自来水",
        "公共厕所", "健身器材", "托育服务", "儿科门诊", "体检中心",
    ),
    "ecology": (
        "公园", "绿道", "小凌河", "河堤", "湿地", "海岸", "蓝天", "白鹭", "口袋公园", "植树", "空气质量",
        "河长制", "芦苇", "雨水花园", "垃圾清运", "生态修复", "笔架山", "观鸟", "城市绿地", "步道",
        "环境整治", "碧水", "滨海公园", "古塔公园",
    ),
}
SUBJECTS = (
    "我", "我们", "大家", "街坊们", "老人们", "孩子们", "年轻人", "企业", "社区", "我们公司", "村里",
    "同事们", "家里人", "老伙计们", "不少市民", "我的学生", "身边的朋友", "我和老伴",
)
TIMES = (
    "这几年", "去年冬天", "前些日子", "每天早上", "周末", "今年春天", "十年前", "如今", "过去五年",
    "刚退休那年", "上个月", "每到傍晚", "开春以后", "入冬以来", "近两年",
)
PLACES = (
    "滨海新区", "松山新区", "凌河区", "古塔区", "太和区", "经济技术开发区", "老城区", "我们小区",
    "河边", "站前", "城郊", "港区", "大学城", "高新区", "凌海", "北镇", "黑山", "义县",
)
VERBS = (
    "落到实处", "稳步推进", "做细做实", "对接起来", "越办越好", "提质增效", "连成一片", "走在前列",
    "更进一步", "落地见效", "形成合力", "持续改善", "用得上", "跟得上", "转起来", "亮起来",
)
ADJECTIVES = (
    "方便", "便利", "完善", "温暖", "高效", "顺畅", "安心", "清爽", "宜居", "实在", "透明", "年轻",
    "有活力", "有温度", "干净", "舒心", "周到", "踏实",
)
# Syllables for the long tail of street, community and village names (rare search terms).
NAME_FIRST = "安宝北长春大东福广海和红华吉锦静康兰丽林凌龙明南宁平青清荣瑞松泰天万文西祥新兴阳永玉"
NAME_SECOND = "安滨昌城德丰光海和河湖华景乐林隆美宁平泉山胜顺泰望祥兴阳源苑泽庄"
NAME_SUFFIX = ("路", "街", "社区", "村", "小区", "里")
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁"
    "魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易"
)
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂建华文辉力红玉海波宁鹏斌飞玲婷雪琳晨浩宇欣"

SENTENCES = (
    "{s}一直关心{n}的事", "{t}，{p}的{n}变化很大", "{s}希望{n}能够{v}", "说到{n}，{s}最大的感受是{a}",
    "要让{n}{v}，离不开{m}", "{t}，{s}在{p}看到{n}正在{v}", "我建议把{n}和{m}结合起来",
    "{n}不只是{m}的事，也关系到每一个家庭", "如果{n}能{v}，{s}的日子会更{a}",
    "{p}有不少{n}，可{m}还不够{a}", "下一个五年，{s}期待{n}更加{a}", "{s}常常和邻居聊起{n}",
    "从{n}到{m}，每一步都要{v}", "{t}，{n}的{m}越来越{a}", "{s}愿意为{n}出一份力",
    "{q}那里的{n}让人印象很深", "在{q}，{n}已经成了大家的日常", "{s}算过一笔账，{n}省下的时间都用在了{m}上",
    "{t}，{s}第一次体会到{n}的{a}", "希望有关部门把{n}和{m}统筹考虑", "{n}做好了，{m}自然就{a}了",
    "我们{q}的{n}，是一点一点干出来的", "{s}最盼的，就是{n}早日{v}", "很多人说起{n}，都会提到{m}",
    "{n}的背后，是无数普通人的努力", "让{n}更{a}，也让{m}更{a}", "{t}，{q}又多了几处{n}",
)
HEADLINES = (
    "{n}的{m}", "让{n}更{a}", "我眼中的{n}", "关于{n}的几点建议", "{p}的{n}", "期待{n}{v}",
    "写给{p}的一封信", "从{n}说起", "{n}，我们这样做", "{q}的{n}故事", "{n}与{m}", "盼{n}{v}",
)
AFFILIATIONS = {
    "resident": ("", "", "", "{q}居民", "退休教师", "{p}居民"),
    "community": ("{q}社区党委书记", "{q}社区网格员", "{p}{q}社区居委会主任", "{q}社区志愿者"),
    "enterprise": ("{p}{n}有限公司总经理", "渤海湾{n}集团工程师", "{q}{n}合作社负责人", "{p}一家企业的技术员"),
    "research": ("渤海大学教授", "锦州医科大学副教授", "辽宁工业大学研究员", "{p}一所中学的老师"),
    "public_sector": ("{p}街道干部", "{p}政务服务中心工作人员", "市{n}中心干部", "{q}镇干部"),
    "student": ("渤海大学学生", "锦州医科大学研究生", "辽宁工业大学学生", "{p}高中学生"),
    "other": ("个体经营者", "出租车司机", "自由职业者", "外卖骑手", "{q}早餐店店主"),
}
# Sentences that trip the screener (migrations/0004 seeds these words); added to a few pending essays.
BANNED_SENTENCE = "听说有人在小区群里拉人搞网络刷单，大家千万要当心"
SUSPECT_SENTENCE = "希望有关部门能尽快回应居民的投诉"
HIGH_RISK_SHARE = 0.03  # of pending essays
SUSPECT_SHARE = 0.05  # of pending essays
REJECT_REASONS = ("与本栏目主题无关", "内容与已发表文章重复", "篇幅过短，内容不够具体")
PUNCT = "，。、；：！？“”\n"


# ---------------------------------------------------------------------------------------------------
# Text


def _compile(template: str) -> tuple[tuple[str, int], ...]:
    """A template as (literal, 0) and (slot, 1) parts: filling it is then a loop, not str.format."""
    parts: list[tuple[str, int]] = []
    for i, piece in enumerate(template.replace("}", "{").split("{")):
        if piece:
            parts.append((piece, i % 2))
    return tuple(parts)


_SENTENCES = tuple(_compile(t) for t in SENTENCES)
_HEADLINES = tuple(_compile(t) for t in HEADLINES)
_AFFILIATIONS = {role: tuple(_compile(t) for t in templates) for role, templates in AFFILIATIONS.items()}
_POOLS = {"s": SUBJECTS, "t": TIMES, "p": PLACES, "v": VERBS, "a": ADJECTIVES}
_ALL_TOPIC_WORDS = tuple(w for words in TOPICS.values() for w in words)


class Corpus:
    """A seeded writer of essays on a board's topics, with a long tail of place names.

    Every word and template literal is pure CJK apart from the punctuation in PUNCT, which keeps the
    character count cheap to track while writing.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._random = self.rng.random

    def _pick(self, seq: Sequence[str]) -> str:
        return seq[int(self._random() * len(seq))]

    def place(self) -> str:
        return self._pick(NAME_FIRST) + self._pick(NAME_SECOND) + self._pick(NAME_SUFFIX)

    def _fill(self, parts: tuple[tuple[str, int], ...], topic: Sequence[str]) -> str:
        out = []
        for text, is_slot in parts:
            if not is_slot:
                out.append(text)
            elif text in "nm":
                # Mostly the board's own words, sometimes another board's: essays wander.
                out.append(self._pick(topic if self._random() < 0.75 else _ALL_TOPIC_WORDS))
            elif text == "q":
                out.append(self.place())
            else:
                out.append(self._pick(_POOLS[text]))
        return "".join(out)

    def sentence(self, topic: Sequence[str]) -> str:
        return self._fill(self._pick(_SENTENCES), topic)

    def headline(self, topic: Sequence[str]) -> str:
        return self._fill(self._pick(_HEADLINES), topic)[:30]

    def body(self, topic: Sequence[str], hanzi: int | None = None) -> str:
        """Paragraphs of sentences until ``hanzi`` CJK characters (400–1,450; a sentence more stays ≤ 1,500)."""
        rng = self.rng
        target = hanzi if hanzi is not None else rng.randint(400, 1450)
        paragraphs: list[str] = []
        count = 0
        while count < target:
            sentences: list[str] = []
            for _ in range(rng.randint(3, 7)):
                sentence = self.sentence(topic)
                sentences.append(sentence + self._pick("。。。。！"))
                count += len(sentence) - sentence.count("，")  # templates hold no other punctuation
                if count >= target:
                    break
            paragraphs.append("".join(sentences))
        return "\n\n".join(paragraphs)

    def name(self) -> str:
        return self._pick(SURNAMES) + "".join(self._pick(GIVEN) for _ in range(self._pick((1, 2, 2))))

    def affiliation(self, role: str, topic: Sequence[str]) -> str:
        return self._fill(self._pick(_AFFILIATIONS[role]), topic)[:60]

    def phone(self) -> str:
        return f"1{self._pick('3456789')}{self.rng.randrange(10**9):09d}"


def hanzi_count(text: str) -> int:
    return sum(1 for ch in text if "\u4e00" <= ch <= "\u9fff")


# ---------------------------------------------------------------------------------------------------
# Rows


@dataclass(frozen=True)
class Plan:
    """What the main process decides once for all essays, so work units can be generated anywhere."""

    seed: int
    n: int
    city: str
    end: datetime  # the newest submission
    directions: tuple[tuple[int, str, str], ...]  # (id, slug, name)
    statuses: tuple[str, ...]  # index i is essay i + 1
    photos: tuple[str, ...]
    moderator_id: int
    editor_id: int


def plan_statuses(n: int, rng: random.Random) -> list[str]:
    """Exact quotas: pending among the newest, the minor statuses spread over the older essays."""
    statuses = [str(Status.PUBLISHED)] * n
    pending = round(n * PENDING_SHARE)
    tail = list(range(n - min(n, round(pending * 1.5)), n))  # the queue holds mostly recent essays
    pending_ids = rng.sample(tail, pending)
    for i in pending_ids:
        statuses[i] = str(Status.PENDING)
    rest = [i for i in range(n) if statuses[i] == str(Status.PUBLISHED)]
    rng.shuffle(rest)
    for status, share in MINOR_SHARES.items():
        count = max(1, round(n * share)) if n >= 20 else 0
        for i in rest[:count]:
            statuses[i] = str(status)
        rest = rest[count:]
    return statuses


_EVENTS_AFTER: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    # status -> (action, from, to, actor) after 'submit'; the order lifecycle would have recorded them in.
    "pending": (),
    "published": (("approve", "pending", "published", "moderator"),),
    "printed": (("approve", "pending", "published", "moderator"), ("print", "published", "printed", "editor")),
    "rejected": (("reject", "pending", "rejected", "moderator"),),
    "needs_revision": (("revise", "pending", "needs_revision", "moderator"),),
    "withdrawn": (("withdraw", "pending", "withdrawn", "author"),),
    "unpublished": (("approve", "pending", "published", "moderator"), ("unpublish", "published", "unpublished", "moderator")),
}  # fmt: skip


@dataclass
class Chunk:
    essays: list[tuple]
    revisions: list[tuple]
    events: list[tuple]
    docs: list[search.SearchDoc]
    index_rows: list[tuple[tuple, tuple]]  # search.index_rows of each doc, worked out in the chunk's process
    bands: list[tuple]
    flags: list[tuple]


def _ts(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def tracking_code(essay_id: int) -> str:
    """Unique per id, in the real CV-XXXX-XXXX shape; holds a 0, which real codes never do, so no
    submission during the benchmark can collide with it."""
    digits = f"{essay_id:08d}"
    return f"CV-{digits[:4]}-{digits[4:]}"


def make_chunk(plan: Plan, start: int, stop: int) -> Chunk:
    """Rows for essays start+1 … stop (ids), reproducible from the plan's seed and the chunk start."""
    corpus = Corpus(plan.seed * 1_000_003 + start)
    rng = corpus.rng
    out = Chunk([], [], [], [], [], [], [])
    span = timedelta(days=365)
    for index in range(start, stop):
        essay_id = index + 1
        direction_id, slug, name = plan.directions[index % len(plan.directions)]
        role = ROLES[index % len(ROLES)] if index < 2 * len(ROLES) else rng.choices(ROLES, ROLE_WEIGHTS)[0]
        topic = TOPICS.get(slug, _ALL_TOPIC_WORDS)
        status = plan.statuses[index]
        submitted = plan.end - span * (1 - index / max(1, plan.n)) - timedelta(minutes=rng.randint(0, 30))
        essay = _essay(plan, corpus, essay_id, status, (direction_id, slug, name), role, topic, submitted)
        out.essays.append(_essay_row(essay))
        out.revisions.append((essay_id, 1, essay.headline, essay.body, "author", None, essay.submitted_at))
        out.events += _events(plan, essay, submitted, rng)
        out.bands += band_rows(essay_id)
        out.flags += flag_rows(essay)
        if essay.status in PUBLIC_STATUSES:
            doc = lifecycle.search_doc(essay, plan.city)
            out.docs.append(doc)
            out.index_rows.append(search.index_rows(doc))
    return out


def _essay(
    plan: Plan, corpus: Corpus, essay_id: int, status: str, direction: tuple[int, str, str], role: str,
    topic: Sequence[str], submitted: datetime,
) -> Essay:  # fmt: skip
    rng = corpus.rng
    steps = _EVENTS_AFTER[status]
    published = submitted + timedelta(hours=rng.uniform(2, 48)) if any(s[0] == "approve" for s in steps) else None
    updated = published or (submitted + timedelta(hours=rng.uniform(1, 30)) if steps else submitted)
    if status == "unpublished":
        updated = updated + timedelta(days=rng.randint(1, 20))
    reason = rng.choice(REJECT_REASONS) if status == "rejected" else ""
    body, draw = corpus.body(topic), rng.random()
    if status == "pending" and draw < HIGH_RISK_SHARE + SUSPECT_SHARE:
        body += "\n\n" + (BANNED_SENTENCE if draw < HIGH_RISK_SHARE else SUSPECT_SENTENCE) + "。"
    printed = f"《锦州日报》{(updated + timedelta(days=7)).date()} T08版" if status == "printed" else None
    return Essay(
        id=essay_id, tracking_code=tracking_code(essay_id), status=Status(status), version=1 + len(steps),
        direction_id=direction[0], direction_slug=direction[1], direction_name=direction[2],
        headline=corpus.headline(topic), body=body, author_role=role, author_name=corpus.name(),
        affiliation=corpus.affiliation(role, topic), byline_mode="role_only" if rng.random() < 0.15 else "full",
        phone=corpus.phone(), email=f"reader{essay_id}@example.com" if rng.random() < 0.4 else None,
        photo_path=rng.choice(plan.photos) if plan.photos and rng.random() < PHOTO_SHARE else None,
        consent_print=rng.random() < 0.7,
        featured=status in {"published", "printed"} and rng.random() < FEATURED_SHARE,
        high_risk=BANNED_SENTENCE in body,
        author_note="请补充一些具体的例子。" if status == "needs_revision" else "", reject_reason=reason,
        submitted_at=_ts(submitted), updated_at=_ts(updated), published_at=_ts(published) if published else None,
        printed_edition=printed,
    )  # fmt: skip


ESSAY_COLUMNS = (
    "id", "tracking_code", "token_hash", "status", "version", "direction_id", "headline", "body", "author_role",
    "author_name", "affiliation", "byline_mode", "phone", "email", "photo_path", "consent_print", "featured",
    "high_risk", "author_note", "reject_reason", "submit_ip", "submitted_at", "updated_at", "published_at",
    "printed_edition",
)  # fmt: skip


def _essay_row(e: Essay) -> tuple:
    return (
        e.id, e.tracking_code, token_hash(f"bench-token-{e.id}"), str(e.status), e.version, e.direction_id,
        e.headline, e.body, e.author_role, e.author_name, e.affiliation, e.byline_mode, e.phone, e.email,
        e.photo_path, int(e.consent_print), int(e.featured), int(e.high_risk), e.author_note, e.reject_reason,
        "127.0.0.1", e.submitted_at, e.updated_at, e.published_at, e.printed_edition,
    )  # fmt: skip


def _events(plan: Plan, essay: Essay, submitted: datetime, rng: random.Random) -> list[tuple]:
    rows = [(essay.id, "submit", None, "pending", "author", None, "", "", essay.submitted_at)]
    actors = {"moderator": plan.moderator_id, "editor": plan.editor_id, "author": None}
    at = submitted
    for action, from_status, to_status, actor in _EVENTS_AFTER[str(essay.status)]:
        at = at + timedelta(hours=rng.uniform(1, 30))
        if action == "approve" and essay.published_at:
            stamp = essay.published_at
        else:
            stamp = _ts(at)
        note = essay.author_note if action in {"reject", "revise"} else ""
        reason = essay.reject_reason if action == "reject" else ""
        rows.append((essay.id, action, from_status, to_status, actor, actors[actor], reason, note, stamp))
    return rows


def band_rows(essay_id: int) -> list[tuple[str, int]]:
    """essay_shingle_bands rows in the real key format ("07:" + 16 hex digits), unique to the essay."""
    keys = []
    for band in range(screening.BANDS):
        digest = hashlib.blake2b(f"{essay_id}:{band}".encode(), digest_size=8, person=b"cv-bench").hexdigest()
        keys.append((f"{band:02d}:{digest}", essay_id))
    return keys


_SCREENER = screening.Screener(screening.SAMPLE_BANNED, screening.SAMPLE_SUSPECT)
_FLAGGED = (BANNED_SENTENCE, SUSPECT_SENTENCE)


def flag_rows(essay: Essay) -> list[tuple]:
    """essay_flags rows as moderation.screen_submission stores them (only our planted words match, so
    the far more costly screening of every essay would find nothing more)."""
    if not any(sentence in essay.body for sentence in _FLAGGED):
        return []
    rows = []
    for field_name, text in (("headline", essay.headline), ("body", essay.body)):
        for f in _SCREENER.screen(text).flags:
            rows.append((essay.id, field_name, f.kind, f.term, f.matched, f.start, f.end, f.explanation, 1,
                         essay.submitted_at))  # fmt: skip
    return rows


# ---------------------------------------------------------------------------------------------------
# Writing


def _write_chunk(conn: sqlite3.Connection, chunk: Chunk) -> None:
    marks = ", ".join("?" * len(ESSAY_COLUMNS))
    conn.executemany(f"INSERT INTO essays ({', '.join(ESSAY_COLUMNS)}) VALUES ({marks})", chunk.essays)  # noqa: S608
    conn.executemany(
        "INSERT INTO essay_revisions (essay_id, number, headline, body, actor_kind, actor_id, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        chunk.revisions,
    )
    conn.executemany(
        "INSERT INTO essay_events (essay_id, action, from_status, to_status, actor_kind, actor_id, reason, note,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chunk.events,
    )
    search.bulk_index(conn, chunk.docs, chunk.index_rows)  # the store's own rows and SQL
    conn.executemany("INSERT INTO essay_shingle_bands (band_key, essay_id) VALUES (?, ?)", chunk.bands)
    conn.executemany(
        "INSERT INTO essay_flags (essay_id, field, kind, term, matched, start_at, end_at, explanation,"
        " list_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        chunk.flags,
    )


def _fts_hashsize(conn: sqlite3.Connection, size: int) -> None:
    # FTS5 flushes its pending terms to a new segment whenever they outgrow 'hashsize' (1 MB by
    # default, a few dozen essays here), and every flush feeds automerge. A large buffer while loading
    # makes far fewer, larger segments; the app's default is put back afterwards.
    for table in ("search_fts", "search_headline_fts"):
        conn.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('hashsize', ?)", (size,))  # noqa: S608


def _add_staff(conn: sqlite3.Connection) -> dict[str, int]:
    from citizenvoice.domain import accounts  # argon2 is only needed here

    ids: dict[str, int] = {}
    for username, display, role in STAFF:
        cur = conn.execute(
            "INSERT INTO users (username, display_name, password_hash) VALUES (?, ?, ?)",
            (username, display, accounts.hash_password(PASSWORD)),
        )
        ids[role] = int(cur.lastrowid)
        conn.execute("INSERT INTO user_roles (user_id, role) VALUES (?, ?)", (ids[role], role))
    return ids


def make_photos(media_dir: Path, count: int = 6) -> list[str]:
    """A few small JPEGs, stored exactly as an upload would be (re-encoded, by content)."""
    from PIL import Image, ImageDraw

    paths = []
    for i in range(count):
        img = Image.new("RGB", (640, 420), (40 + 30 * i, 110, 200 - 25 * i))
        draw = ImageDraw.Draw(img)
        for k in range(12):
            draw.rectangle((k * 50, 300 - k * 15 - 20 * i, k * 50 + 40, 420), fill=(230, 200 - 10 * k, 80 + 12 * i))
        buffer = io.BytesIO()
        img.save(buffer, "JPEG", quality=80)
        processed = photos.process_photo(buffer.getvalue(), max_bytes=8 * 1024 * 1024)
        paths.append(photos.store_photo(processed, media_dir))
    return paths


_PLAN: Plan | None = None  # handed to forked workers by inheritance rather than pickled per unit


def _work(unit: tuple[int, int]) -> Chunk:
    assert _PLAN is not None
    return make_chunk(_PLAN, *unit)


def _chunks(plan: Plan, processes: int) -> Iterator[Chunk]:
    global _PLAN
    _PLAN = plan
    units = [(start, min(start + CHUNK, plan.n)) for start in range(0, plan.n, CHUNK)]
    try:
        if processes < 1 or len(units) <= 2:
            yield from map(_work, units)
            return
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            yield from pool.imap(_work, units)
    finally:
        _PLAN = None


def generate(n: int, db_path: Path, *, seed: int = 2026, media_dir: Path | None = None, processes: int = 1,
             city: str | None = None, quiet: bool = False) -> dict[str, object]:  # fmt: skip
    """Create and fill the database at ``db_path`` (which must not exist); ``processes`` generate the
    text (0: this process does everything). Returns a summary."""
    started = time.perf_counter()
    media_dir = media_dir or db_path.parent / "media"
    if db_path.exists():
        raise FileExistsError(db_path)
    database.migrate(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)
    try:
        # A fresh file that is thrown away on failure: no journal and no fsync while loading.
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-262144")
        conn.execute("BEGIN")
        staff = _add_staff(conn)
        directions = tuple(conn.execute("SELECT id, slug, name FROM directions WHERE archived = 0 ORDER BY position, id"))
        conn.execute("COMMIT")
        plan = Plan(
            seed=seed, n=n, city=city or Settings.from_env().city, end=datetime.now(UTC).replace(microsecond=0),
            directions=directions, statuses=tuple(plan_statuses(n, random.Random(seed))),
            photos=tuple(make_photos(media_dir)), moderator_id=staff["moderator"], editor_id=staff["editor"],
        )  # fmt: skip
        done = 0
        _fts_hashsize(conn, LOAD_HASHSIZE)
        conn.execute("BEGIN")
        for chunk in _chunks(plan, processes):
            _write_chunk(conn, chunk)
            done += len(chunk.essays)
            if done % COMMIT_EVERY == 0 or done == n:
                conn.execute("COMMIT")
                if not quiet:
                    print(f"  {done:>7,} essays  {time.perf_counter() - started:6.1f} s", flush=True)
                if done < n:
                    conn.execute("BEGIN")
        _fts_hashsize(conn, FTS5_DEFAULT_HASHSIZE)
        # What the app uses; persistent in the file. No ANALYZE: the app never runs it, and statistics
        # would give the benchmark query plans a real deployment does not have.
        conn.execute("PRAGMA journal_mode=WAL")
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    counts: dict[str, int] = {}
    for status in plan.statuses:
        counts[status] = counts.get(status, 0) + 1
    return {"essays": n, "seed": seed, "generator": GENERATOR_VERSION, "seconds": round(seconds, 1),
            "statuses": counts, "db": str(db_path), "media": str(media_dir)}  # fmt: skip


def default_db(n: int) -> Path:
    return ROOT / "bench" / "data" / str(n) / "citizenvoice.db"


def meta_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".meta.json")


def remove_db(db_path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal", ".meta.json"):
        Path(str(db_path) + suffix).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("n", type=int, help="number of essays")
    parser.add_argument("--db", type=Path, help="database file (default: bench/data/N/citizenvoice.db)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--media", type=Path, help="media directory for the photos (default: next to the db)")
    parser.add_argument("--force", action="store_true", help="replace an existing database")
    parser.add_argument("--processes", type=int, default=max(1, (os.cpu_count() or 2) - 1),
                        help="text-generating processes besides the writer (default: CPUs - 1)")
    args = parser.parse_args(argv)
    db_path = args.db or default_db(args.n)
    if db_path.exists():
        if not args.force:
            print(f"{db_path} exists; use --force to replace it", file=sys.stderr)
            return 1
        remove_db(db_path)
    print(f"generating {args.n:,} essays into {db_path}")
    summary = generate(args.n, db_path, seed=args.seed, media_dir=args.media, processes=args.processes)
    meta_path(db_path).write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*")) / 2**20
    print(f"done in {summary['seconds']} s ({args.n / max(summary['seconds'], 0.1):,.0f} essays/s), {size:,.0f} MiB")
    print("statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(summary["statuses"].items())))
    for username, _, role in STAFF:
        print(f"staff: {username} ({role}), password {PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
