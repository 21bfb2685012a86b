"""The print exports as the print desk sees them: the proof PDF/PNG, the text package and the DOCX.

PDF tests need a CJK font. Where none is installed they are skipped, unless CITIZENVOICE_REQUIRE_FONTS=1
(CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import re
import zipfile
from pathlib import Path

import pytest

from citizenvoice.domain import printexport
from citizenvoice.domain.printexport import MissingCJKFont, PrintEssay, PrintPage
from citizenvoice.text.charcount import count_print_chars

REQUIRE_FONTS = os.environ.get("CITIZENVOICE_REQUIRE_FONTS") == "1"


def _fonts_available() -> bool:
    try:
        printexport.find_cjk_fonts()
    except MissingCJKFont:
        return False
    return True


needs_fonts = pytest.mark.skipif(
    not REQUIRE_FONTS and not _fonts_available(),
    reason="no Noto CJK serif/sans font (apt-get install fonts-noto-cjk); set CITIZENVOICE_REQUIRE_FONTS=1 to fail",
)

# ---- demo page: six essays, four voices -----------------------------------------------------------

LEAD = (
    "未来五年，临海将锚定建设区域性物流枢纽、产业倍增、县域振兴和生态宜居等八个方向，把蓝图落到一条条航线、"
    "一座座车间、一个个社区里。规划好不好，老百姓最有发言权。本版刊发的六篇文章，来自社区书记、企业负责人、"
    "高校研究者和普通市民。他们讲述亲历的变化，说出对下一个五年的期待，也写下自己准备做的事。从楼道里的一盏灯"
    "到通向深蓝的航线，这些朴素的文字连起来，就是一座城市的未来。"
)

DEMO = [
    (
        "临海市海滨区春和街道望潮社区党委书记",
        "周立群",
        "楼道里亮起的那盏灯",
        """
在望潮社区工作的第十一个年头，我最熟悉的是晚上八点的楼道。那时下班的人陆续回家，老人们出门散步，哪一栋楼的声控灯坏了，哪一户门口堆了杂物，第二天一早就会有人告诉我。

过去五年，社区完成了二十三栋老楼的改造，加装了十四部电梯。三号楼的刘奶奶第一次坐电梯下楼，站在单元门口半天没说话，后来拉着我的手说：“在楼上关了三年，今天总算能自己下来晒太阳了。”那一刻我明白，民生工程不是写在墙上的数字，而是一位老人重新走到阳光里。

接下来的五年，我们想把功夫下在“小事”上。社区食堂要办成老人吃得起、年轻人也愿意来的地方；楼道里的应急呼叫按钮要做到每层都有；快递柜、充电桩、托育点，要按居民投票的顺序一件件落地。

我们还准备把议事会开到楼栋里去。谁家有意见，不必跑到居委会，在楼下的长椅上就能说。去年试点的两个楼栋，一共收集了六十多条建议，已经办结了四十七条。

我常说，社区是城市的最后一百米。这一百米走得稳不稳，决定了城市的温度。新的五年，我希望每个楼道都亮着一盏灯，每一扇门后都有人惦记。
""",
    ),
    (
        "临海港通物流有限公司总经理",
        "韩东",
        "一条通向深蓝的航线",
        """
2009年我刚到港口时，码头上还是成片的散货堆场，一艘船靠港要等上好几天。今天，我们公司的集装箱班轮每周有12个航班，从临海出发，直达东南亚和日韩的二十多个港口。

这些年最大的变化，是货主不再只问“多少钱”，而是问“多快、多稳”。去年我们上线了全程可视化系统，客户在手机上就能看到一箱海产品从冷库到装船、从报关到离港的每一个节点。平均通关时间从两天压缩到六个小时，这是海关、港口和企业一起跑出来的。

我们也吃过亏。有两年航线时断时续，有的客户转去了别的港口。那段时间我带着团队一家家上门，把承诺写进合同：延误一天，运费减免一成。靠着这股劲，老客户回来了，还带来了新客户。

“十五五”期间，临海要建设区域性物流枢纽，这对我们是实打实的机遇。公司计划新开三条近洋航线，建一座两万平方米的冷链仓库，把海铁联运班列开进东北腹地。

港口的灯一夜不灭，我们这代物流人也不敢停步。我希望五年以后，人们说起临海，第一个想到的是：从这里出发，货通天下。
""",
    ),
    (
        "",
        "孙晓梅",
        "清晨的河堤",
        """
每天早上六点，我会沿着小凌河的河堤走上一圈。十年前，这里是杂草丛生的土坡，夏天蚊虫多，下过雨满脚泥。现在，河堤修成了步道，两旁种上了柳树和月季，跑步的、打太极的、遛狗的，把清晨填得满满当当。

我在河边住了半辈子，见过这条河最浑浊的样子。那时上游的小作坊往河里排污水，一到夏天就有味道，孩子们都不敢下河摸鱼。后来作坊关了，污水管网通了，河水一年比一年清。前年夏天，我在桥下看见了成群的小鱼，赶紧拍了视频发给在外地工作的女儿。

作为一个普通市民，我对下一个五年的期待很具体：希望河堤步道能再往下游延伸，一直连到海边；希望沿河多建几处公共厕所和饮水点；希望晚上的路灯亮一些，让下夜班的人走得安心。

我也想尽自己的一份力。去年我报名当了护河志愿者，每周六上午和大家一起捡拾垃圾、劝导乱扔乱倒。一开始有人不理解，现在不少邻居主动加入了我们。

城市变好，不只靠规划，也靠每个人把脚下这一段路守好。我盼着五年后的清晨，河堤上的人更多，河里的鱼也更多。
""",
    ),
    (
        "临海大学海洋经济研究院副院长",
        "林卓",
        "把论文写在海岸线上",
        """
我们研究院的窗外就是渤海。十多年来，我和同事们的很多课题，都是在这片海边找到答案的：滩涂怎样修复，海参怎样越冬，港口的泥沙怎样淤积。

过去，高校科研常被说成“两张皮”：论文发在期刊上，企业却用不上。这几年，我们试着换一种做法，让企业出题、高校答题。和本地一家水产企业合作培育的耐高温海参品种，从实验室到养殖池只用了三年，去年夏天的高温里，示范区的成活率提高了将近三成。

科研转化最难的是“最后一公里”。实验室的数据很漂亮，到了海上，风浪、温度、盐度都会变。所以我们把学生派到养殖场、码头和化工园区去，一待就是一两个月。有的学生说，在船上学到的东西，比在教室里一个学期还多。

面向“十五五”，我希望临海能建起一个开放共享的海洋科技平台，让大型仪器向中小企业开放，让科研成果能够便捷地评估、作价、入股。人才是根本，城市要给年轻科研人员一个安心做学问的环境。

把论文写在海岸线上，是我们这代科研人的心愿。五年以后，我希望这片海更蓝，沿海的产业更强，也希望更多年轻人愿意留下来。
""",
    ),
    (
        "临海晶源新材料科技有限公司总经理",
        "邵远航",
        "车间里的第二次创业",
        """
走进我们公司的新车间，最先注意到的可能是安静。过去机器轰鸣、满地油污的场面不见了，取而代之的是整齐的自动化产线和屏幕上跳动的数据。这是我们在老厂区上完成的一次“原地再造”。

公司成立于1998年，最早做的是普通硅材料，利润薄、能耗高。2019年，我们下决心转向光伏用单晶硅和半导体材料。那是一场“第二次创业”，研发投入连续三年超过营业收入的6%，最难的时候，账上的现金只够发两个月工资。

转型能成，离不开这座城市。政府帮我们对接了高校的研发团队，园区给我们配套了专用变电站，银行推出了“技改贷”。去年，公司产值突破40亿元，产品进入了国内前十大光伏企业的供应链。

下一个五年，我们的目标是产值再翻一番，同时把单位产品能耗再降20%。我们正在建设一座屋顶光伏电站，将来车间用的电，有一部分就来自自己生产的硅片。

制造业是城市的脊梁。我常对年轻工程师们说，别把工厂看成“傻大黑粗”的地方，这里同样有最前沿的技术、最需要创造力的岗位。我希望五年后，临海制造能在全国叫得更响，也希望更多年轻人愿意走进车间。
""",
    ),
    (
        "临海市凌水县双河村党支部书记",
        "王春生",
        "山坳里的好光景",
        """
双河村在凌水县的山坳里，过去村里人说起自己，总有点不好意思：路窄、地少、年轻人都往外走。这几年村里的变化，我一件件都记在心里。

2021年，柏油路修到了家家户户门口，快递车能直接开进村。我们抓住这个机会，把村里的小米、山楂和蜂蜜统一包装，注册了“双河山货”的牌子，在网上卖。第一年销售额就有八十多万元，参与的一百二十多户，每户平均增收五千多元。

更让我高兴的是，年轻人开始回来了。村东头的小赵原来在南方打工，如今回村开了直播间，一晚上能卖出三百多单。他说：“在外面是给别人干，回家是给自己干，心里踏实。”

当然，难处也不少。山货的品质还不够稳定，冷链物流跟不上，村里的老人看病还要跑到县城。接下来的五年，我们打算建一座小型冷库，成立合作社统一标准，再请县医院的医生每周下乡坐诊。

乡村振兴，说到底是让留在村里的人过得好，让出去的人愿意回来。我希望五年后，双河村的好光景，能让更多人看得见、留得住。
""",
    ),
]


def demo_essays(photo: Path | None = None) -> list[PrintEssay]:
    essays = []
    for slot, (affiliation, name, headline, body) in enumerate(DEMO, start=1):
        byline = f"{affiliation or '临海市民'} {name}"
        body = body.strip()
        essays.append(
            PrintEssay(
                slot=slot,
                headline=headline,
                byline=byline,
                affiliation=affiliation or "临海市民",
                name=name,
                body=body,
                photo_path=photo if slot in (2, 6) else None,
                char_count=count_print_chars(body),
            )
        )
    return essays


def demo_page(photo: Path | None = None, **overrides) -> PrintPage:
    fields = dict(
        paper="临海日报",
        date=dt.date(2025, 11, 24),
        page_label="T08",
        column_title="写给下一个五年",
        lead=LEAD,
        credits=["本栏目内容由本报记者 李文静 整理", "本报记者 赵阳 摄", "本版制图 吴涛"],
        byline_style="under_headline",
        essays=demo_essays(photo),
        slogan="向海图强　启新程",
    )
    fields.update(overrides)
    return PrintPage(**fields)


def pdf_text(pdf: bytes) -> str:
    """All text of a PDF with whitespace removed (CJK extraction puts spaces between characters)."""
    from pypdf import PdfReader

    return re.sub(r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    from PIL import Image

    path = tmp_path / "upload-name-from-user.jpg"
    Image.new("RGB", (600, 400), (40, 90, 140)).save(path, "JPEG")
    return path


# ---- small helpers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        (dt.date(2025, 11, 24), "二〇二五年十一月二十四日"),
        (dt.date(2026, 1, 1), "二〇二六年一月一日"),
        (dt.date(2030, 10, 10), "二〇三〇年十月十日"),
        (dt.date(2025, 12, 30), "二〇二五年十二月三十日"),
        (dt.date(2025, 2, 20), "二〇二五年二月二十日"),
    ],
)
def test_chinese_date(date: dt.date, expected: str) -> None:
    assert printexport.chinese_date(date) == expected


def test_paragraphs_split_on_blank_lines_and_join_copy_breaks() -> None:
    body = "　　第一段开头，\n被复制时断开的句子。\n\n  \n第二段 has English\nwords。\n\n\n第三段"
    assert printexport.paragraphs(body) == [
        "第一段开头，被复制时断开的句子。",
        "第二段 has English words。",
        "第三段",
    ]


def test_rows_keep_at_most_three_essays_side_by_side() -> None:
    assert printexport._rows(6) == [[0, 1, 2], [3, 4, 5]]
    assert printexport._rows(4) == [[0, 1], [2, 3]]
    assert printexport._rows(5) == [[0, 1, 2], [3, 4]]
    assert printexport._rows(1) == [[0]]


# ---- the proof -------------------------------------------------------------------------------------


@needs_fonts
def test_six_essay_proof_fits_one_page_and_shows_every_headline_and_byline() -> None:
    page = demo_page()
    proof = printexport.render_proof_pdf(page)
    assert proof.pdf.startswith(b"%PDF")
    assert (proof.overflow, proof.pages) == (False, 1)
    text = pdf_text(proof.pdf)
    for essay in page.essays:
        assert essay.headline in text
        assert squash(essay.byline) in text
    for expected in (
        "临海日报",
        "二〇二五年十一月二十四日",
        "T08",
        "写给下一个五年",
        "核心提示",
        "本版制图吴涛",
    ):
        assert expected in text
    assert "超版" not in text


@needs_fonts
def test_typst_markup_in_essays_prints_literally() -> None:
    hostile = [
        '#import "x": *',
        '#read("/etc/passwd")',
        "]",
        "*bold*",
        "$x$",
        "<label>",
        "@ref",
        "\\",
        "#{1+1}",
    ]
    essays = demo_essays()[:2]
    essays[0] = dataclasses.replace(essays[0], headline="标题 " + " ".join(hostile[:3]))
    essays[1] = dataclasses.replace(
        essays[1],
        byline="单位 ] #x 姓名",
        body="正文" + " ".join(hostile) + "\n\n" + '#raw(read("/etc/passwd"))',
    )
    page = demo_page(essays=essays, lead='#read("/etc/hostname") ]', column_title="栏目#[x]")
    proof = printexport.render_proof_pdf(page)
    text = pdf_text(proof.pdf)
    for literal in [
        *hostile,
        '#raw(read("/etc/passwd"))',
        '#read("/etc/hostname")',
        "栏目#[x]",
        "单位]#x姓名",
    ]:
        assert squash(literal) in text
    assert "root:x:0:0" not in text
    assert "2" not in text.split("#{1+1}")[0][-3:]  # the expression was not evaluated


@needs_fonts
def test_over_long_page_is_flagged_and_the_proof_says_so() -> None:
    page = demo_page()
    for essay in page.essays:
        essay.body = "\n\n".join([essay.body] * 3)
    proof = printexport.render_proof_pdf(page)
    assert proof.overflow is True and proof.layout["overflow"] is True
    assert proof.layout["body_size"] == 9.0  # it tried down to the smallest size of the range
    text = pdf_text(proof.pdf)
    assert "超版：内容超出本版，请删减" in text
    cut = [c["i"] for c in proof.layout["cuts"]]
    assert len(cut) == 2  # one slot per row is named, with what it must lose
    for i in cut:
        assert re.search(rf"第{i + 1}篇需删约\d+行（约\d+字）", text), text[:400]


@needs_fonts
def test_a_page_with_photos_fits_and_a_missing_photo_is_marked(photo: Path, tmp_path: Path) -> None:
    page = demo_page(photo)
    page.essays[0].photo_path = tmp_path / "gone.jpg"
    proof = printexport.render_proof_pdf(page)
    assert not proof.overflow
    assert "图片无法读取" in pdf_text(proof.pdf)


@needs_fonts
def test_preview_png_is_the_first_page() -> None:
    from PIL import Image

    png = printexport.render_preview_png(demo_page(), ppi=36)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    assert image.size == (round(297 / 25.4 * 36), round(420 / 25.4 * 36))


def test_missing_cjk_font_names_the_debian_package(tmp_path: Path) -> None:
    with pytest.raises(MissingCJKFont, match="fonts-noto-cjk") as caught:
        printexport.render_proof_pdf(demo_page(), font_dirs=[tmp_path])
    assert "缺少中文字体" in str(caught.value)
    with pytest.raises(MissingCJKFont):
        printexport.render_preview_png(demo_page(), font_dirs=[tmp_path / "nowhere"])


# ---- package and DOCX --------------------------------------------------------------------------------


def _stems(page: PrintPage) -> list[str]:
    return [f"{e.slot:02d}-{printexport.safe_name(e.headline)}" for e in page.essays]


def test_package_zip_has_named_texts_photos_and_manifest(photo: Path) -> None:
    page = demo_page(photo)
    archive = zipfile.ZipFile(io.BytesIO(printexport.build_package_zip(page)))
    stems = _stems(page)
    assert stems[0] == "01-楼道里亮起的那盏灯" and stems[1] == "02-一条通向深蓝的航线"
    assert sorted(archive.namelist()) == sorted(
        ["manifest.json", "00-核心提示.txt", "00-版面署名.txt", "00-通栏口号.txt",
         f"photos/{stems[1]}.jpg", f"photos/{stems[5]}.jpg", *(f"{s}.txt" for s in stems)]
    )  # fmt: skip
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["date"] == "2025-11-24" and manifest["page_label"] == "T08"
    assert manifest["byline_style"] == "under_headline" and manifest["lead"] == LEAD
    assert manifest["credits"][2] == "本版制图 吴涛"
    assert (manifest["text_encoding"], manifest["line_endings"]) == ("UTF-8-BOM", "CRLF")
    assert manifest["files"]["lead"] == "00-核心提示.txt" and manifest["files"]["proof_pdf"] is None
    assert [(e["order"], e["slot"], e["headline"], e["byline"]) for e in manifest["essays"]] == [
        (i, e.slot, e.headline, e.byline) for i, e in enumerate(page.essays, start=1)
    ]
    assert manifest["essays"][1]["photo_file"] == f"photos/{stems[1]}.jpg"
    assert manifest["essays"][0]["photo_file"] is None
    assert manifest["essays"][0]["char_count"] == page.essays[0].char_count
    raw = archive.read(f"{stems[0]}.txt")
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Windows tools read it as UTF-8
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only
    first = raw.decode("utf-8-sig").replace("\r\n", "\n")
    essay = page.essays[0]
    assert first.startswith(f"{essay.headline}\n{essay.byline}\n\n")
    assert first.rstrip("\n").endswith("每一扇门后都有人惦记。") and "\n\n过去五年" in first
    assert archive.read("00-通栏口号.txt").decode("utf-8-sig") == "向海图强　启新程\r\n"
    assert archive.read(f"photos/{stems[1]}.jpg") == photo.read_bytes()
    for info in archive.infolist():
        assert (info.external_attr >> 16) & 0o777 == 0o644, info.filename
        assert (info.external_attr >> 16) & 0o170000 == 0o100000  # a regular file


def test_package_in_gb18030_on_request() -> None:
    page = demo_page()
    archive = zipfile.ZipFile(io.BytesIO(printexport.build_package_zip(page, encoding="gb18030")))
    raw = archive.read(f"{_stems(page)[0]}.txt")
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert raw.decode("gb18030").startswith("楼道里亮起的那盏灯\r\n")
    assert raw.startswith("楼道".encode("gb18030"))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["text_encoding"] == "GB18030" and manifest["manifest_encoding"] == "UTF-8"


@pytest.mark.parametrize(("headline", "name"), [
    ("用社区微光点亮万家灯火", "用社区微光点亮万家灯火"),
    ("../../etc/passwd", "etcpasswd"),
    ("“港口”的灯：照亮 回家的路！", "港口的灯照亮回家的路"),
    ("C:\\con<>|?*.txt", "Ccontxt"),
    ("。，！", "文章"),
])  # fmt: skip
def test_file_names_keep_safe_characters_only(headline: str, name: str) -> None:
    assert printexport.safe_name(headline) == name


def test_the_package_carries_the_proof_and_the_docx() -> None:
    page = demo_page()
    data = printexport.build_package_zip(page, proof_pdf=b"%PDF-1.7 test", docx_file=b"PK docx")
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    assert archive.read(manifest["files"]["proof_pdf"]) == b"%PDF-1.7 test"
    assert manifest["files"]["proof_pdf"] == "清样-T08-2025-11-24.pdf"
    assert archive.read("版面-T08-2025-11-24.docx") == b"PK docx"


def test_package_orders_by_slot() -> None:
    page = demo_page()
    page.essays.reverse()
    manifest = json.loads(
        zipfile.ZipFile(io.BytesIO(printexport.build_package_zip(page))).read("manifest.json")
    )
    assert [e["slot"] for e in manifest["essays"]] == [1, 2, 3, 4, 5, 6]


def test_docx_has_masthead_lead_and_essays_in_order(photo: Path) -> None:
    import docx

    page = demo_page(photo)
    document = docx.Document(io.BytesIO(printexport.build_docx(page)))
    texts = [p.text for p in document.paragraphs]
    assert any("临海日报" in t and "二〇二五年十一月二十四日" in t for t in texts)
    assert any(LEAD in t for t in texts)
    headings = [p.text for p in document.paragraphs if p.style.name == "标题"]
    assert headings == [e.headline for e in page.essays]
    positions = [texts.index(e.byline) for e in page.essays]
    assert positions == sorted(positions)
    assert len(document.inline_shapes) == 2


def _rfonts(style) -> dict[str, str]:
    from docx.oxml.ns import qn

    fonts = style.element.rPr.find(qn("w:rFonts"))
    return {k.split("}")[1]: v for k, v in fonts.attrib.items()}


def test_docx_is_the_papers_sheet_with_the_desks_styles_and_chinese_language(photo: Path) -> None:
    import docx
    from docx.oxml.ns import qn

    page = demo_page(photo, editor="editor-wang", version=7)
    document = docx.Document(io.BytesIO(printexport.build_docx(page)))
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (297, 420)  # A3, not US Letter
    assert round(section.left_margin.mm) == printexport.DOCX_MARGIN_MM
    used = {p.style.name for p in document.paragraphs}
    assert {"标题", "署名", "正文", "核心提示"} <= used
    assert not used & {"Title", "Heading 1", "Normal"}  # no python-docx default (blue headings) leaks out
    assert _rfonts(document.styles["标题"])["eastAsia"] == "黑体"
    assert _rfonts(document.styles["正文"])["eastAsia"] == "宋体"
    assert _rfonts(document.styles["署名"])["eastAsia"] == "楷体"
    assert "eastAsiaTheme" not in _rfonts(document.styles["正文"])
    assert document.styles["标题"].font.color.rgb == docx.shared.RGBColor(0, 0, 0)
    body = document.styles["正文"]
    assert body.paragraph_format.first_line_indent.pt == 21  # two characters of 10.5 pt
    lang = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr")).find(qn("w:lang"))
    assert lang.get(qn("w:val")) == "zh-CN" and lang.get(qn("w:eastAsia")) == "zh-CN"
    props = document.core_properties
    assert props.author == "editor-wang" and props.last_modified_by == "editor-wang"
    assert props.language == "zh-CN" and "T08版" in props.title and "临海日报" in props.title
    assert "python-docx" not in (props.author + props.comments + props.title)


def test_docx_takes_the_sheet_from_the_setting() -> None:
    import docx

    document = docx.Document(io.BytesIO(printexport.build_docx(demo_page(sheet="A4"))))
    assert (round(document.sections[0].page_width.mm), round(document.sections[0].page_height.mm)) == (210, 297)


# ---- the byline styles, the same in all three exports --------------------------------------------


def _exports(page: PrintPage, with_pdf: bool) -> dict[str, str]:
    archive = zipfile.ZipFile(io.BytesIO(printexport.build_package_zip(page)))
    import docx

    document = docx.Document(io.BytesIO(printexport.build_docx(page)))
    result = {
        "package": squash(
            "".join(archive.read(n).decode() for n in sorted(archive.namelist()) if n.endswith(".txt"))
        ),
        "docx": squash("".join(p.text for p in document.paragraphs)),
    }
    if with_pdf:
        result["pdf"] = pdf_text(printexport.render_proof_pdf(page).pdf)
    return result


@pytest.mark.parametrize(
    "with_pdf", [pytest.param(True, marks=needs_fonts), False], ids=["with-pdf", "no-pdf"]
)
def test_under_headline_style_prints_the_full_byline_under_the_headline(with_pdf: bool) -> None:
    page = demo_page(byline_style="under_headline")
    for where, text in _exports(page, with_pdf).items():
        for essay in page.essays:
            assert squash(essay.headline + essay.byline) in text, where
        assert "作者系" not in text, where


@pytest.mark.parametrize(
    "with_pdf", [pytest.param(True, marks=needs_fonts), False], ids=["with-pdf", "no-pdf"]
)
def test_after_body_style_puts_the_name_under_the_headline_and_the_unit_at_the_end(with_pdf: bool) -> None:
    essays = demo_essays()
    essays[2] = dataclasses.replace(essays[2], affiliation="")  # a resident who gave no unit
    page = demo_page(byline_style="after_body", essays=essays)
    for where, text in _exports(page, with_pdf).items():
        for essay in page.essays:
            assert squash(essay.headline + essay.name) in text, where
            assert squash(essay.byline) not in text, where
        assert "每一扇门后都有人惦记。（作者系临海市海滨区春和街道望潮社区党委书记）" in text, where
        assert "河里的鱼也更多。" in text and "河里的鱼也更多。（作者系" not in text, where
        assert text.count("（作者系") == 5, where


def test_compose_byline() -> None:
    essay = demo_essays()[0]
    assert printexport.compose_byline(essay, "under_headline") == printexport.Byline(essay.byline, "")
    assert printexport.compose_byline(essay, "after_body") == printexport.Byline(
        "周立群", "（作者系临海市海滨区春和街道望潮社区党委书记）"
    )
    bare = dataclasses.replace(essay, byline="", affiliation="临海市民")
    assert printexport.compose_byline(bare, "under_headline").under_headline == "临海市民 周立群"
