"""``citizenvoice demo``: a handful of essays written for the demo, so a newcomer sees a living site.

Ten voices across the boards — a community party secretary, a logistics manager, a retired teacher, a
university researcher, a student, a wind-farm engineer, a village first secretary, a young mother, a
noodle-shop owner, a factory founder — some published (one already printed), some waiting in the queue,
one sent back for revision. All names and units are invented.

Safe to run twice: each demo essay has a fixed tracking code (``CV-DEMO-…``: "O" and "0" never occur in
real codes, so they cannot collide) and is skipped when it already exists. Every status change goes
through :mod:`citizenvoice.lifecycle`, so the demo essays carry the same revisions and events as real ones.
"""

from __future__ import annotations

import argparse
import secrets
from dataclasses import dataclass
from datetime import date

import aiosqlite

from citizenvoice import db as database
from citizenvoice.domain import lifecycle, moderation, sitesettings
from citizenvoice.domain.lifecycle import ActorRef
from citizenvoice.model.essays import Action, Actor
from citizenvoice.ops.commands import command, run_async
from citizenvoice.settings import Settings
from citizenvoice.store import directions as direction_store
from citizenvoice.store import essays as essay_store
from citizenvoice.store.essays import NewEssay

MODERATOR = ActorRef(Actor.MODERATOR)
EDITOR = ActorRef(Actor.EDITOR)


@dataclass(frozen=True)
class DemoEssay:
    code: str
    outcome: str  # published | printed | pending | needs_revision
    direction: str
    author_role: str
    author_name: str
    affiliation: str
    headline: str
    body: str
    byline_mode: str = "full"
    consent_print: bool = True
    note: str = ""  # the moderator's note for needs_revision

    @property
    def phone(self) -> str:
        # Reserved-looking numbers; the last four digits are the code's, so the look-up form can be tried.
        return "1390000" + self.code[-4:]


ESSAYS: tuple[DemoEssay, ...] = (
    DemoEssay(
        code="CV-DEMO-0001",
        outcome="published",
        direction="silver-economy",
        author_role="community",
        author_name="林秀梅",
        affiliation="滨海新区海韵街道望潮社区党委书记",
        headline="楼道里的那盏灯",
        body="""我们社区有一千二百多户人家，六十岁以上的老人占了快三成。刚到社区工作那年，我挨家挨户走访，最怕的是敲门没人应。有一回，三号楼的张大爷在家摔倒，两天后才被邻居发现。从那以后，我心里就装着一件事：不能让任何一位老人在家里“没人知道”。

这几年，我们先从最笨的办法做起。社区给独居老人编了“敲门表”，网格员和志愿者每天上门或打电话问一声好；楼道里装上了感应灯，老人夜里起来不再摸黑。后来有了智能手环和燃气报警器，老人家里一有异常，值班手机马上就响。去年冬天，就是这个报警器救了五号楼的李奶奶。

可我知道，这还远远不够。老人们要的不只是安全，还有热乎饭、说说话、有点事做。社区食堂开张那天，八十六岁的王大娘拉着我的手说：“闺女，我又能跟人一块儿吃饭了。”那一刻我想，养老不是把老人“管”起来，而是让他们重新走进人群。

下一个五年，我想把社区食堂办成老人们的“客厅”，上午读报下棋，下午学用智能手机；想请辖区里的医院、药店、家政公司一起来，把助餐、助浴、助医做成老人买得起、用得上的服务；也想动员刚退休的“年轻老人”做志愿者，让帮助在邻里之间接力下去。

楼道里的那盏灯，一按就亮。我希望我们社区的每一位老人，心里也都有这样一盏灯。""",
    ),
    DemoEssay(
        code="CV-DEMO-0002",
        outcome="published",
        direction="logistics-hub",
        author_role="enterprise",
        author_name="周海涛",
        affiliation="渤海湾联运物流有限公司总经理",
        headline="一只集装箱的两天半",
        body="""我做物流十八年，最常算的一笔账，是一只集装箱从工厂到船上要多久。十年前，一批出口的汽车配件从内陆工厂发出，汽车转火车、火车再转卡车，到码头装船，顺利的话要五六天，遇上单证出错还得再等。客户问我能不能快一点，我只能赔着笑说“尽量”。

这两年变化实实在在。海铁联运的班列开到了园区门口，报关、查验、放行在网上就能办完，港口的作业计划和铁路的运行图对上了“时刻表”。现在同样一只集装箱，两天半就能上船。时间省下来，客户的资金周转快了，我们的车队也不再在码头外排长龙。

但我也看到短板：回程空箱多，冷链仓库少，小企业的零散货物很难拼成整箱。下一个五年，我期待港口、铁路和物流企业把数据真正打通，让每一只箱子在哪里、什么时候到，都能像查快递一样一目了然；期待建起更多冷链和保税仓库，让东北的大米、海产品从这里走向更远的市场；也期待多一些面向中小企业的拼箱服务，让小货主也能坐上“快车”。

我们公司准备在未来三年再添一百辆新能源集卡，培养一批懂数字调度的年轻人。港口兴，城市兴。我愿意做这条物流大通道上一颗拧得紧紧的螺丝钉。""",
    ),
    DemoEssay(
        code="CV-DEMO-0003",
        outcome="printed",
        direction="ecology",
        author_role="resident",
        author_name="王淑芬",
        affiliation="",
        headline="河堤上的四季",
        body="""退休以后，我每天清早都到河堤上走一圈。走了八年，这条河的四季我都熟了。

刚开始那几年，河边是另一番样子：岸坡上堆着建筑垃圾，夏天水里泛着一股味，散步的人都绕着走。后来河道清了淤，两岸修了步道，种上了柳树和芦苇，还接上了雨水花园。现在春天有燕子贴着水面飞，夏天傍晚跳广场舞的、钓鱼的、推着婴儿车的，把步道挤得热热闹闹；秋天芦花一白，常有年轻人来拍照；冬天河面结了冰，孩子们在岸边堆雪人。

去年秋天，我在河边第一次看见了白鹭。老伴儿不信，我拍了照片给他看，他高兴得像个孩子。我们这一辈人，小时候河水清得能洗衣服，后来眼看着它变浑、变臭，如今又一点点清了回来，心里说不出的滋味。

我对下一个五年有三个小心愿：一是步道能再往上游接一接，让河两岸的几个公园连成一条环线；二是多修几处干净的公共厕所和能歇脚的长椅，方便我们这些老年人；三是希望学校常带孩子们来河边上自然课，认一认芦苇、蒲草和白鹭，让他们从小知道，一条好河是要大家一起护着的。

我也报了名，做河道巡护志愿者。每天走一圈，顺手捡捡垃圾，看见问题就拍照上报。这条河陪我变老，我也想陪它越来越好。""",
    ),
    DemoEssay(
        code="CV-DEMO-0004",
        outcome="published",
        direction="education-talent",
        author_role="research",
        author_name="陈立新",
        affiliation="渤海理工大学科技处处长",
        headline="把实验室搬到车间旁",
        body="""在大学里做了二十年科研管理，我见过太多“锁在抽屉里”的成果：论文发了，专利拿了，样品做出来了，却迟迟走不进工厂。原因说起来也简单，老师不了解企业要什么，企业也不知道学校能做什么，中间隔着一堵看不见的墙。

这几年，我们试着把这堵墙拆掉。学校和开发区的十几家企业共建了联合实验室，教授带着研究生驻厂，企业的工程师来学校当兼职导师。有一家做汽车零部件的企业，困扰多年的焊接缺陷问题，师生们在车间里蹲了三个月，硬是把废品率降下来一大截。学生们的毕业设计题目，也越来越多来自生产线上的真问题。

让我感触最深的是人才。过去我们培养的学生，十个里有七八个毕业就去了南方。现在有了能施展手脚的项目和平台，留下来的多了。去年我带的一个学生，放弃了外地大厂的录用，留在本地一家新能源企业做研发，他说：“在这儿，我做的东西第二天就能装到产品上。”

下一个五年，我希望科研评价更看重解决实际问题的本事，让愿意下车间的老师不吃亏；希望政府、学校和企业共同设立成果转化基金，帮好点子跨过从样品到产品的那道坎；也希望城市给年轻人更多安居的支持。我们科技处准备每年组织一百名教师走进企业，把实验室真正搬到车间旁边。""",
    ),
    DemoEssay(
        code="CV-DEMO-0005",
        outcome="pending",
        direction="port-industry-city",
        author_role="student",
        author_name="赵雨桐",
        affiliation="渤海理工大学机械工程专业学生",
        headline="我想留下来",
        body="""我是一名大三学生，老家在县城，来这座城市读大学快三年了。说实话，刚入学时我和很多同学一样，心里早就盘算好：毕业就去南方，去大城市。

改变想法，是从去年暑假的实习开始的。我在港口附近一家装备制造企业做实习生，第一次站在车间里，看着我们画过无数遍的零件变成真机器，又被装上货轮运往海外，那种感觉很奇妙。带我的师傅只比我大六岁，已经是技术骨干。他说，这几年临港的企业越来越多，年轻人只要肯干，机会不比大城市少。

我开始认真地想：如果留下来，我需要什么？第一是一份有奔头的工作，能学到真本事；第二是一个住得起、通勤方便的地方，最好下班坐公交二十分钟就能到家；第三是下班以后有地方可去，有书店、有球场、有看海的步道，周末能和朋友看一场演出。

我知道这些不会一夜之间实现。但我希望下一个五年，港口和产业带来的不只是货物和产值，也能带来一座更年轻、更有活力的城。希望企业多给在校生实习的机会，希望给毕业生的租房补贴再简单一点、来得再快一点，希望海边多一些属于年轻人的热闹。

如果这些都在变好，我想留下来，和这座城市一起长大。""",
        byline_mode="role_only",
    ),
    DemoEssay(
        code="CV-DEMO-0006",
        outcome="published",
        direction="new-energy-hub",
        author_role="enterprise",
        author_name="郑国强",
        affiliation="北方海风新能源有限公司运维中心主任",
        headline="风从海上来",
        body="""我的工作，是照看海边的一百多台风机。每天清晨，我和同事们开车沿着海岸巡检，远远看见白色的叶片在海风里转动，心里就踏实。

十年前我刚入行时，身边不少人觉得风电“靠天吃饭”，风大了电网用不完，风小了又指望不上。这些年，储能电站建起来了，风电、光伏和储能一起调度，多余的电先存起来，用电高峰再送出去。去年我们场站配套的储能投运后，弃风少了一大截，同样的风，发出的电多用上了不少。

更让我高兴的是，新能源正在变成一条完整的产业链。叶片、塔筒在本地的工厂里造，运维的年轻人在本地的学校里培养，港口还专门建了大件码头，让几十米长的叶片可以直接装船运走。我们中心现在三十多名员工，一大半是本地职业院校毕业的年轻人。

下一个五年，我希望绿电能更方便地用在本地：工厂能直接买到便宜的绿电，港口的岸电、集卡都用上清洁能源，老百姓家里也能装上屋顶光伏，自发自用，余电上网。我也希望氢能早一点从示范走向应用，让海上的风变成车里的“油”。

风从海上来，一年四季不停。我相信，只要把生产、运输、储存、销售、使用这条链子串好，这阵风能把咱们的城市吹得更绿、更有底气。""",
    ),
    DemoEssay(
        code="CV-DEMO-0007",
        outcome="published",
        direction="rural-revitalization",
        author_role="public_sector",
        author_name="何静",
        affiliation="北山县双河镇杏花村驻村第一书记",
        headline="村口的直播间",
        body="""两年前，我作为驻村第一书记来到杏花村。村里种了几百亩苹果和小米，品质都不差，可每年最发愁的就是卖。收购商压价，农户不敢多种，年轻人一茬茬往外走，村里常住的大多是老人。

我们在村委会旁边腾出一间屋子，办起了直播间。一开始谁也不会，对着镜头说话结结巴巴，第一场只卖出去七箱苹果。后来请了县里的电商老师来培训，村里回乡的几个年轻人慢慢成了“主播”，讲果园怎么剪枝、小米怎么晾晒，讲着讲着，回头客越来越多。去年，村里的苹果通过网络卖出去二十多万斤，每斤比往年多卖了好几毛钱。

直播间火了，新的问题也来了：果子要分级、要包装、要冷藏，快递要能进村。我们和镇里一起建了一个小型分拣冷库，跟快递公司谈下了每天进村收件。六十多岁的刘大婶现在专门负责打包，她说在家门口就能挣钱，日子有盼头了。

下一个五年，我希望乡村振兴少一点“盆景”，多一点“风景”：村里的路再修宽一些，冷链和物流再往下沉一沉，让更多的年轻人愿意回村创业。也希望城里人周末能来村里走走，摘摘果子，住住民宿。村口的直播间只是一个开始，我们想让杏花村的好东西、好风景，都被更多人看见。""",
    ),
    DemoEssay(
        code="CV-DEMO-0008",
        outcome="pending",
        direction="wellbeing",
        author_role="resident",
        author_name="李佳",
        affiliation="",
        headline="家门口的社区医院",
        body="""我是一个四岁孩子的妈妈。孩子半夜发烧，是每个年轻父母都经历过的慌乱。以前遇到这种情况，我们只能抱着孩子打车去市里的大医院，挂号、排队、抽血，折腾到天亮。

去年，我们小区旁边的社区卫生服务中心重新装修开了门，有了儿科门诊，还开通了夜间咨询电话。那天晚上孩子又烧到三十九度，我抱着试试看的心态打了电话，值班医生耐心地问了情况，告诉我怎么物理降温、什么情况必须马上去医院。第二天一早，我们在家门口就看上了病，前后不到一个小时。

后来我发现，这个中心还能做很多事：给老人测血压、建健康档案，给孩子打疫苗，家庭医生还会定期打电话随访我父亲的血糖。楼上的邻居说，现在小病不出社区，大病转诊也有人帮着联系，心里踏实多了。

对下一个五年，我作为一个普通居民，最大的期待就是这样的“家门口医院”能多一些、强一些：希望社区医生再多一点，夜间和周末也能看上儿科；希望社区和大医院的检查结果能互认，少跑冤枉路；也希望线上问诊、送药上门这些方便的服务，能让老人也学得会、用得上。

看病不难，是一个城市最朴素的温度。我愿意为它多说几句话，也愿意在社区做一名健康宣传志愿者。""",
        byline_mode="role_only",
        consent_print=False,
    ),
    DemoEssay(
        code="CV-DEMO-0009",
        outcome="needs_revision",
        direction="business-environment",
        author_role="enterprise",
        author_name="孙立强",
        affiliation="老街孙记面馆店主",
        headline="一次办好的营业执照",
        body="""开面馆是我攒了十年的心愿。前年春天，我在老街上盘下一间门面，心里最打怵的不是装修，而是办手续。早些年听亲戚说，开个小饭馆要跑好几个部门，材料交了一遍又一遍，光盖章就得一个多月。

没想到，这回我只去了一趟政务服务中心。窗口的王晓丽姑娘先让我在网上把材料填好，营业执照、食品经营许可一起受理，她还提醒我哪些地方容易出错。一个星期后，执照和许可证就送到了店里。开业那天，街道和市场监管所的同志还来转了转，告诉我后厨怎么布局更合规，油烟怎么处理不扰民。

开店以后，我感受到的不止是快。去年冬天房租压力大，街道帮我们这些小店申请了减免；有顾客在网上反映问题，相关部门先来了解情况，不是一上来就罚款，让我们有改正的机会。做小生意的人，最怕的是规矩说变就变，最盼的是有人讲道理。

这两年老街上新开了十几家小店，咖啡馆、书店、手工坊都有，周末人来人往，老街又有了烟火气。我的面馆也从四张桌子添到了十张，还雇了两个本街的年轻人。我常跟老顾客说，营商环境好不好，我们小老板心里最清楚。""",
        note="文章很生动，谢谢您！两处请修改：第二段窗口工作人员的全名请删去（可写“窗口的工作人员”）；结尾能否再写两句您对下一个五年的具体期待？改好后在本页重新提交即可。",
    ),
    DemoEssay(
        code="CV-DEMO-0010",
        outcome="pending",
        direction="finance-center",
        author_role="other",
        author_name="吴志刚",
        affiliation="一家小型食品加工厂创办人",
        headline="一笔来得及时的贷款",
        body="""前年秋天，是我们小厂最难熬的时候。接了一个大订单，原料要先付款，货款却要三个月后才能回来。我拿着订单跑了好几家银行，人家问我有没有房子抵押，我说厂房是租的，设备也不值几个钱，谈到最后都是客客气气地送我出门。

后来园区的工作人员告诉我，可以试试新上线的信用融资服务平台。我在手机上授权了纳税、社保和水电数据，没过几天，一家银行的客户经理就主动上门了。他们看的不是我有没有房子，而是我这几年按时纳税、按时发工资、用电量稳步上升。一周以后，五十万元的信用贷款到了账，利率比我想象的低。

那笔钱让我们按时交了货，也留住了二十多名工人。现在厂子的订单排到了明年，我又添了一条包装线。

我想，像我这样的小老板，城里还有很多。我们不缺干劲，缺的是被看见、被信任。下一个五年，我希望金融服务中心的建设，能让更多“看不见的信用”变成“看得见的资金”：数据再打通一些，审批再快一些，保险、担保、融资租赁这些工具，也能像贷款一样方便地找到我们。希望银行的同志多到园区里走走，多坐一坐我们的车间。

金融是活水，实体是庄稼。水引到了田里，庄稼才能长得好。""",
    ),
)


def printed_edition(paper_name: str, on: date) -> str:
    return f"《{paper_name}》{on.isoformat()} T08版"


async def _load_one(conn: aiosqlite.Connection, demo: DemoEssay, site: Settings,
                    screeners: moderation.ScreenerCache) -> bool:
    """Store one demo essay and move it to its outcome; False if it exists or its board is gone."""
    if await essay_store.get_by_tracking_code(conn, demo.code) is not None:
        return False
    direction = await direction_store.get_by_slug(conn, demo.direction)
    if direction is None or direction.archived:
        return False
    new = NewEssay(
        direction_id=direction.id, headline=demo.headline, body=demo.body, author_role=demo.author_role,
        author_name=demo.author_name, affiliation=demo.affiliation, byline_mode=demo.byline_mode,
        phone=demo.phone, email="", photo_path=None, consent_print=demo.consent_print,
    )
    # The secret token is random and thrown away: demo essays are found again by code + phone.
    essay_id = await essay_store.insert_essay(
        conn, new, tracking_code=demo.code, token=secrets.token_urlsafe(32), submit_ip=None
    )
    # Screened like a real submission, so the demo queue shows what moderators will see.
    await moderation.screen_submission(conn, essay_id, await moderation.load_screener(conn, screeners))
    city = site.city
    if demo.outcome in ("published", "printed"):
        await lifecycle.transition(conn, essay_id, Action.APPROVE, MODERATOR, city=city)
    if demo.outcome == "printed":
        edition = printed_edition(site.paper_name, date.today())
        await lifecycle.transition(conn, essay_id, Action.PRINT, EDITOR, city=city,
                                   changes={"printed_edition": edition})
    if demo.outcome == "needs_revision":
        await lifecycle.transition(conn, essay_id, Action.REVISE, MODERATOR, city=city, note=demo.note)
    return True


async def load_demo(db: database.Database, base: Settings) -> list[str]:
    """Load the demo essays not yet present; returns the tracking codes added."""
    async with db.read() as conn:
        site = await sitesettings.load(conn, base)
    added, screeners = [], moderation.ScreenerCache()
    for demo in ESSAYS:
        async with db.write() as conn:
            if await _load_one(conn, demo, site, screeners):
                added.append(demo.code)
    return added


@command("demo", "load demo essays (approved and pending; running it twice adds nothing)")
def demo(args: argparse.Namespace, settings: Settings) -> int:
    added = run_async(settings, lambda db: load_demo(db, settings))
    if not added:
        print("demo essays already loaded; nothing added")
        return 0
    print(f"added {len(added)} demo essays: {', '.join(added)}")
    print("try /track with code CV-DEMO-0009 and phone digits 0009 (an essay sent back for revision)")
    return 0
