"""Each life event walked end to end in a real browser, as a demo resident of 窓口市 would.

Sign in through the demo provider, answer the questions, get the personal list of
procedures, let the city fill in what its registers hold (each value showing its
source), answer the rest once, upload a supporting document, check, declare, send, and
take the receipt from the application page. The bereavement journey also runs without
JavaScript. Dates follow the demo city, whose "today" is 27 November 2026
(portal/records/demo_data.py). Each procedure's pages have their own helper, so the
shorter tests can walk straight to one situation the journeys pass by.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from portal.backoffice import workflow
from portal.backoffice.models import Submission
from portal.database import utcnow
from portal.definitions.expressions import default_context
from portal.extensions import db
from tests.e2e.journeys import (
    JS_ONLY,
    Filed,
    Resident,
    assert_application_page,
    demo_city,
    pdf_scan,
    png_photo,
    upload,
)
from tests.identity.live import LiveApp

pytestmark = pytest.mark.e2e


@pytest.fixture
def city(database_url: str) -> Iterator[LiveApp]:
    """The demo city's portal, with its procedures and registers, on a live server."""
    with demo_city(database_url) as live:
        yield live


CORRECT = "記入した内容に誤りはありません。"


# --- Bereavement: 中村 健太, whose father 中村 勝 died on 22 November -----------------------

BEREAVEMENT = "おくやみ（ご家族が亡くなったとき）"
NHI_LOSS = Filed("国民健康保険 資格喪失届（死亡）", "保険年金課")
FUNERAL_GRANT = Filed("国民健康保険 葬祭費の支給申請", "保険年金課")
LTC_LOSS = Filed("介護保険 資格喪失届", "介護保険課")
DISABILITY_RETURN = Filed("障害者手帳・医療の受給者証の返還", "障害福祉課")
HEIR_REPRESENTATIVE = Filed("固定資産税 相続人代表者指定届", "税務課")
PENSION = "年金受給権者死亡届・未支給年金の請求"


def _bereavement_questions(resident: Resident) -> None:
    resident.open_life_event(BEREAVEMENT)
    resident.sign_in_as("中村 健太")
    resident.start()
    resident.answer("亡くなった方は、窓口市に住民票がありましたか", "はい")
    resident.continue_()
    resident.answer("死亡届はもう提出しましたか", "はい")
    resident.continue_()
    resident.expect_heading("亡くなった方について")
    resident.fill("亡くなった方の生年月日", "昭和34年6月30日")
    resident.fill("亡くなった日", "2026-11-22")
    resident.continue_()
    resident.answer("亡くなった方は、国民健康保険に加入していましたか", "はい")
    resident.continue_()
    resident.answer("亡くなった方は、世帯主でしたか", "はい")
    resident.continue_()
    resident.answer("亡くなった方と同じ世帯に、2人以上の方が残りますか", "いいえ")  # he lived alone
    resident.continue_()
    resident.expect_heading("そのほかのこと")
    resident.answer("亡くなる前の1年ほどの間に、入院や高額な医療費の支払いがありましたか", "いいえ")
    resident.answer("亡くなった方は、年金を受け取っていましたか", "はい")
    resident.answer("亡くなった方は、障害者手帳や医療の受給者証を持っていましたか", "はい")
    resident.answer("亡くなった方は、窓口市内に土地や家屋を持っていましたか", "はい")
    resident.continue_()

    pension = resident.page.get_by_role("region", name=PENSION)
    expect(pension).to_contain_text("2026年12月2日")  # ten days after the death
    automatic = resident.page.get_by_role("list").filter(has_text="住民票の消除")
    expect(automatic).to_contain_text("印鑑登録の廃止")


def _bereavement_shared_pages(resident: Resident, registers: Sequence[str]) -> None:
    resident.consent_to(*registers)
    resident.file_for_myself_if_asked()
    resident.choose_person(re.compile(r"^中村 勝（親・"))

    resident.expect_heading("手続きをする方")
    for field in ("申請者の氏名", "申請者の生年月日", "申請者の住所"):
        resident.expect_from_register(field, "住民基本台帳")
    expect(resident.page.get_by_text("中村 健太（ナカムラ ケンタ）")).to_be_visible()
    resident.fill("日中に連絡がとれる電話番号", "090-2345-6789")
    resident.select("亡くなった方との続柄", "子")
    resident.continue_()

    resident.expect_heading("亡くなった方")
    resident.expect_from_register("亡くなった方の氏名", "住民基本台帳")
    resident.expect_from_register("亡くなった方の住所", "住民基本台帳")
    expect(resident.page.get_by_text("中村 勝（ナカムラ マサル）")).to_be_visible()
    resident.continue_()


def _nhi_loss_pages(resident: Resident) -> None:
    resident.expect_from_register("亡くなった方の国民健康保険の記号・番号", "国民健康保険の記録")
    resident.continue_()
    resident.answer("亡くなった方は、国民健康保険の資格確認書を持っていましたか", "はい")
    resident.continue_()
    resident.declare(CORRECT)


def _funeral_grant_pages(resident: Resident) -> None:
    resident.answer("あなたが葬儀の喪主（施主）ですか", "はい")
    resident.continue_()
    resident.fill("葬儀（告別式）を行った日", "2026-11-25")
    resident.answer(
        "亡くなった方は、亡くなる前3か月以内に勤務先の健康保険をやめていましたか", "いいえ"
    )
    resident.continue_()
    resident.expect_from_register("振込先の口座", "公金受取口座（登録されている方のみ）")
    resident.continue_()
    resident.declare(f"{CORRECT}私が葬儀を行った喪主（施主）です。")


def _ltc_loss_pages(resident: Resident) -> None:
    resident.expect_from_register("亡くなった方の介護保険の被保険者番号（10桁）", "介護保険の記録")
    resident.continue_()
    resident.tick("亡くなった方が持っていたもの", "介護保険被保険者証", "介護保険負担割合証")
    resident.continue_()
    resident.declare(CORRECT)


def _disability_return_pages(resident: Resident) -> None:
    resident.expect_from_register("障害者手帳の番号", "障害者手帳の記録")
    resident.continue_()
    resident.tick("返還するもの", "身体障害者手帳", "精神障害者保健福祉手帳")
    resident.answer("見つからない手帳や受給者証がありますか", "いいえ")
    resident.continue_()
    resident.answer("亡くなった方は、特別障害者手当などの手当を受けていましたか", "いいえ")
    resident.continue_()
    resident.declare(CORRECT)


def _heir_representative_pages(resident: Resident) -> None:
    resident.answer(
        "あなたは、家庭裁判所で相続の放棄をしましたか（または、する予定ですか）", "いいえ"
    )
    resident.continue_()
    resident.expect_heading("あなた以外の相続人")
    resident.continue_()  # he is the only heir, so he adds nobody
    resident.answer("登記されていない家屋（物置・離れなど）がありますか", "いいえ")
    resident.continue_()
    resident.expect_from_register("納税通知書の送付先", "住民基本台帳")
    resident.continue_()
    resident.declare(
        "私が相続人の代表者として、固定資産税に関する書類を受け取ることに、"
        "ほかの相続人が同意しています。"
    )


def test_bereavement_from_sign_in_to_the_receipt(page: Page, city: LiveApp):
    resident = Resident(page, city.url)
    filed = [NHI_LOSS, FUNERAL_GRANT, LTC_LOSS, DISABILITY_RETURN, HEIR_REPRESENTATIVE]
    _bereavement_questions(resident)
    resident.choose_procedures(keep=[procedure.title for procedure in filed])
    _bereavement_shared_pages(
        resident,
        [
            "住民基本台帳",
            "国民健康保険の記録",
            "介護保険の記録",
            "障害者手帳の記録",
            "公金受取口座（登録されている方のみ）",
        ],
    )
    _nhi_loss_pages(resident)
    _funeral_grant_pages(resident)
    _ltc_loss_pages(resident)
    _disability_return_pages(resident)
    _heir_representative_pages(resident)

    resident.expect_heading("添付書類")
    resident.supply_document(
        "葬儀の領収書または会葬礼状", file=upload("葬儀の領収書.png", png_photo())
    )
    resident.supply_document("亡くなった方の国民健康保険の資格確認書（返却）", way="郵送する")
    resident.supply_document("介護保険被保険者証などの証書（返却）", way="郵送する")
    resident.supply_document("障害者手帳・受給者証（返還）", way="窓口に持参する")
    resident.continue_()

    resident.expect_heading("入力内容の確認")
    check = page.get_by_role("main")
    expect(check).to_contain_text("中村 勝（ナカムラ マサル）")
    expect(check).to_contain_text("アップロード済み: 葬儀の領収書.png")
    resident.send()

    seen = assert_application_page(
        resident, life_event=BEREAVEMENT, applicant="中村 健太", filed=filed
    )
    assert "中村 勝（ナカムラ マサル）" in seen.receipt_text
    assert "2026年11月25日（令和8年）" in seen.receipt_text  # the funeral


@JS_ONLY
def test_the_receipt_names_the_counter_visits_still_needed(page: Page, city: LiveApp):
    resident = Resident(page, city.url)
    _bereavement_questions(resident)
    resident.choose_procedures(
        keep=[NHI_LOSS.title],
        drop=[
            FUNERAL_GRANT.title,
            LTC_LOSS.title,
            DISABILITY_RETURN.title,
            HEIR_REPRESENTATIVE.title,
        ],
    )
    _bereavement_shared_pages(resident, ["住民基本台帳", "国民健康保険の記録"])
    _nhi_loss_pages(resident)
    resident.supply_document("亡くなった方の国民健康保険の資格確認書（返却）", way="郵送する")
    resident.continue_()
    resident.send()

    seen = assert_application_page(
        resident, life_event=BEREAVEMENT, applicant="中村 健太", filed=[NHI_LOSS]
    )
    assert "窓口にお越しいただく必要のある手続きはありません。" not in seen.receipt_text
    assert PENSION in seen.receipt_text.replace("\n", "")


# --- Childcare: 佐藤 健一, whose daughter 結衣 was born on 18 November ---------------------

CHILDCARE = "妊娠・出産"
CHILD_ALLOWANCE = Filed("児童手当 認定請求（額改定請求）", "子育て支援課")
MEDICAL_SUBSIDY = Filed("子ども医療費助成の申請（医療証の交付）", "子育て支援課")
NHI_JOIN = Filed("国民健康保険 加入届", "保険年金課")
NURSERY = Filed("保育所等の入所申込み・教育・保育給付認定申請", "保育課")
BABY = re.compile(r"^佐藤 結衣（子・")
NOT_ALLOWED = "ご自身では申請できない手続"


def _childcare_questions(resident: Resident) -> None:
    resident.open_life_event(CHILDCARE)
    resident.sign_in_as("佐藤 健一")
    resident.start()
    resident.answer("今の状況を教えてください", "赤ちゃんが生まれた")
    resident.continue_()
    resident.expect_heading("生まれた赤ちゃんについて")
    resident.fill("お子さんの生年月日", "令和8年11月18日")
    resident.answer("出生届はもう提出しましたか", "はい")
    resident.continue_()
    resident.answer("お子さんは国民健康保険に加入しますか", "はい")
    resident.continue_()
    resident.answer("保育所や認定こども園などの利用を申し込みますか", "はい")
    resident.continue_()

    automatic = resident.page.get_by_role("list").filter(has_text="赤ちゃん訪問")
    expect(automatic).to_contain_text("お子さんのマイナンバー")


def _childcare_shared_pages(resident: Resident, *, baby_from_register: bool) -> None:
    resident.consent_to("住民基本台帳", "住民税の記録", "公金受取口座（登録されている方のみ）")
    resident.file_for_myself_if_asked()
    resident.expect_heading("どなたについての申請ですか")
    if baby_from_register:
        resident.choose_person(BABY)
    else:
        expect(resident.page.get_by_label(BABY)).to_be_visible()
        resident.choose_person("一覧にいない（情報を自分で入力する）")

    resident.expect_heading("あなたについて")
    for field in ("申請者の氏名", "申請者の生年月日", "申請者の住所"):
        resident.expect_from_register(field, "住民基本台帳")
    resident.fill("日中に連絡がとれる電話番号", "090-1234-5678")
    resident.continue_()
    resident.expect_heading("赤ちゃんについて")
    if baby_from_register:
        resident.expect_from_register("お子さんの氏名", "住民基本台帳")
    else:
        resident.fill_name("お子さんの氏名", "佐藤", "結衣", ("サトウ", "ユイ"))
    resident.continue_()


def _child_allowance_pages(resident: Resident) -> None:
    resident.answer("あなたは公務員ですか", "いいえ")
    resident.continue_()
    resident.answer("あなたは、父母のうち所得が高い方ですか", "はい")
    resident.continue_()
    resident.expect_heading("請求する方")
    resident.expect_from_register("あなたの所得（住民税の記録）", "住民税の記録")
    resident.fill("あなたの個人番号（マイナンバー）", "123456789018")
    resident.continue_()
    resident.answer("配偶者（事実婚を含む）がいますか", "はい")
    resident.fill_name("配偶者の氏名", "佐藤", "花子", ("サトウ", "ハナコ"))
    resident.continue_()
    resident.answer("生まれたお子さんはあなたと同じ住所に住んでいますか", "はい")
    resident.continue_()
    resident.expect_heading("あなたが養育しているほかのお子さん")
    resident.add_item("お子さんを追加する")
    resident.fill_name("氏名", "佐藤", "陽翔", ("サトウ", "ハルト"))
    resident.fill("生年月日", "2023-03-10")
    resident.select("あなたとの続柄", "子")
    resident.answer("あなたと同じ住所に住んでいる", "はい")
    resident.continue_()
    older = resident.page.get_by_role("definition").filter(has_text="佐藤 陽翔（サトウ ハルト）")
    expect(older).to_have_count(1)
    resident.continue_()
    resident.expect_from_register("振込先の口座", "公金受取口座（登録されている方のみ）")
    resident.continue_()
    resident.declare(f"{CORRECT}受給資格に変更があったときは、すぐに届け出ます。")


def _medical_subsidy_pages(resident: Resident) -> None:
    resident.answer("お子さんが加入する健康保険", "窓口市の国民健康保険")
    resident.continue_()
    resident.declare(f"{CORRECT}加入する健康保険や住所が変わったときは届け出ます。")


def _nhi_join_pages(resident: Resident) -> None:
    resident.answer("加入する理由", "子どもが生まれた")
    resident.continue_()  # the baby's name and birth date are not asked again
    resident.declare(CORRECT)


def _nursery_pages(resident: Resident) -> None:
    resident.expect_heading("入所を希望するお子さん")
    resident.fill("入所を希望する日", "2027-04-01")
    resident.continue_()
    resident.add_item("希望する施設を追加する")
    resident.fill("施設名", "窓口市立本町保育園")
    resident.continue_()
    expect(resident.page.get_by_role("definition").first).to_have_text("窓口市立本町保育園")
    resident.continue_()
    resident.answer("あなたが保育できない理由", "自営業・家族従事者")
    resident.continue_()
    resident.answer("配偶者が保育できない理由", "会社などに勤めている（月48時間以上）")
    resident.continue_()
    resident.expect_heading("保育料の算定")
    resident.expect_from_register("あなたの市町村民税（所得割額）", "住民税の記録")
    resident.page.get_by_role(
        "checkbox", name=re.compile(r"^保育料の算定と保育の必要性の確認のため")
    ).check()
    resident.continue_()
    resident.answer("きょうだいが保育所等に通っていますか", "いいえ")
    resident.answer("お子さんに、障害や発達、健康面で配慮が必要なことはありますか", "いいえ")
    resident.continue_()
    resident.declare(f"{CORRECT}内容に変更があったときは届け出ます。")


@JS_ONLY
def test_childcare_from_sign_in_to_the_receipt(page: Page, city: LiveApp):
    resident = Resident(page, city.url)
    filed = [CHILD_ALLOWANCE, MEDICAL_SUBSIDY, NHI_JOIN, NURSERY]
    _childcare_questions(resident)
    resident.choose_procedures(keep=[procedure.title for procedure in filed])
    # The parent types the baby's name in, as the page allows; the test below picks the
    # baby from the register instead.
    _childcare_shared_pages(resident, baby_from_register=False)
    _child_allowance_pages(resident)
    _medical_subsidy_pages(resident)
    _nhi_join_pages(resident)
    _nursery_pages(resident)

    resident.expect_heading("添付書類")
    resident.supply_document(  # self-employed and employed parents: the nursery needs it
        "就労証明書", file=upload("就労証明書.pdf", pdf_scan("Certificate of employment"))
    )
    resident.continue_()
    check = page.get_by_role("main")
    expect(check).to_contain_text("佐藤 結衣（サトウ ユイ）")
    expect(check).to_contain_text("アップロード済み: 就労証明書.pdf")
    expect(page.get_by_role("heading", name=NOT_ALLOWED)).to_have_count(0)
    resident.send()

    seen = assert_application_page(
        resident, life_event=CHILDCARE, applicant="佐藤 健一", filed=filed
    )
    assert "佐藤 結衣（サトウ ユイ）" in seen.receipt_text
    assert "窓口市立本町保育園" in seen.receipt_text


@JS_ONLY
def test_a_parent_who_picks_the_baby_from_the_register_may_claim_child_allowance(
    page: Page, city: LiveApp
):
    resident = Resident(page, city.url)
    _childcare_questions(resident)
    resident.choose_procedures(
        keep=[CHILD_ALLOWANCE.title],
        drop=[MEDICAL_SUBSIDY.title, NHI_JOIN.title, NURSERY.title],
    )
    _childcare_shared_pages(resident, baby_from_register=True)
    _child_allowance_pages(resident)

    resident.expect_heading("入力内容の確認")
    expect(page.get_by_role("heading", name=NOT_ALLOWED)).to_have_count(0)
    resident.send()
    resident.expect_heading("申請を受け付けました")


# --- Moving: 高橋 大樹 moves the family to Osaka on 20 December --------------------------

MOVING = "引越し"
MOVE_OUT = Filed("転出届", "市民課")
NHI_MOVING_OUT = Filed("国民健康保険 資格喪失届（転出）", "保険年金課")
CHILD_ALLOWANCE_MOVING = Filed(
    "児童手当の引越しの手続き（受給事由消滅届・住所変更届・認定請求）", "子育て支援課"
)
SCHOOL_TRANSFER = Filed("小学校・中学校の転校の手続き", "教育委員会 学務課")
DOG = "犬の登録の住所変更"
MOVING_REGISTERS = [
    "住民基本台帳",
    "住民税の記録",
    "児童手当の記録",
    "公金受取口座（登録されている方のみ）",
]


class Member(NamedTuple):
    """Someone moving with the resident, as the form asks for them."""

    given: str
    given_kana: str
    born: str
    relationship: str
    school_year: str | None = None


FAMILY = [
    Member("由美", "ユミ", "1986-05-05", "配偶者"),
    Member("蓮", "レン", "2015-06-15", "子", school_year="小学6年生"),
    Member("結菜", "ユナ", "2019-01-20", "子", school_year="小学2年生"),
]


def _moving_questions(resident: Resident) -> None:
    resident.open_life_event(MOVING)
    resident.sign_in_as("高橋 大樹")
    resident.start()
    resident.answer("どのような引越しですか", "窓口市から、ほかの市区町村や海外へ引越す（転出）")
    resident.continue_()
    resident.fill("引越しの日（予定日）", "2026-12-20")
    resident.continue_()
    resident.answer("引越しする方の中に、国民健康保険に加入している方はいますか", "はい")
    resident.continue_()
    resident.answer("引越しする方の中に、65歳以上の方はいますか", "いいえ")
    resident.answer("高校生年代までのお子さんと一緒に引越しますか", "はい")
    resident.continue_()
    resident.answer("公立の小学校・中学校に通っている（通う予定の）お子さんはいますか", "はい")
    resident.continue_()
    resident.answer("犬を飼っていますか", "はい")
    resident.continue_()

    card = resident.page.get_by_role("region", name="マイナンバーカードの継続利用の手続き")
    expect(card).to_contain_text("2027年3月20日")  # 90 days after the move
    expect(resident.page.get_by_role("main")).to_contain_text("印鑑登録の廃止（転出）")


def _moving_shared_pages(
    resident: Resident, registers: Sequence[str], family: Sequence[Member]
) -> None:
    resident.consent_to(*registers)
    resident.file_for_myself_if_asked()
    resident.expect_heading("あなたについて")
    for field in ("申請者の氏名", "申請者の生年月日", "申請者の住所"):
        resident.expect_from_register(field, "住民基本台帳")
    resident.fill("日中に連絡がとれる電話番号", "090-3456-7890")
    resident.continue_()
    resident.fill_address(
        "新しい住所", ["530-0001", "大阪府", "大阪市北区", "梅田一丁目", "2-3 梅田ハイツ505"]
    )
    resident.continue_()
    resident.expect_heading("一緒に引越しする方")
    for member in family:
        resident.add_item("一緒に引越しする方を追加する")
        resident.fill_name("氏名", "高橋", member.given, ("タカハシ", member.given_kana))
        resident.fill("生年月日", member.born)
        resident.select("あなたとの続柄", member.relationship)
        resident.continue_()
    expect(resident.page.get_by_role("definition").filter(has_text="高橋")).to_have_count(
        len(family)
    )
    resident.continue_()


def _move_out_pages(resident: Resident) -> None:
    resident.answer("あなたの住民票は、今、窓口市にありますか", "はい")
    resident.continue_()
    resident.answer("海外へ引越しますか", "いいえ")
    resident.continue_()
    resident.answer("世帯全員で引越しますか", "はい")
    resident.continue_()
    resident.answer("引越しする方は全員、マイナンバーカードを持っていますか", "はい")
    resident.continue_()
    resident.declare(CORRECT)


def _nhi_moving_out_pages(resident: Resident) -> None:
    resident.answer("学生のお子さんだけが、進学や通学のために引越すのですか", "いいえ")
    resident.continue_()
    resident.answer("国民健康保険の資格確認書を持っていますか", "はい")
    resident.continue_()
    resident.declare(f"{CORRECT}引越しの日より後は、窓口市の国民健康保険で受診しません。")


def _child_allowance_moving_pages(resident: Resident) -> None:
    receives = "あなたは今、窓口市から児童手当を受け取っていますか"
    resident.expect_from_register(receives, "児童手当の記録")
    expect(resident.question(receives).get_by_label("はい", exact=True)).to_be_checked()
    resident.continue_()
    resident.expect_heading("転出先での手続き")
    resident.continue_()
    resident.declare(CORRECT)


def _school_transfer_pages(resident: Resident) -> None:
    resident.expect_heading("転校するお子さん")
    for pupil in [member for member in FAMILY if member.school_year]:
        resident.add_item("転校するお子さんを追加する")
        resident.fill_name("氏名", "高橋", pupil.given, ("タカハシ", pupil.given_kana))
        resident.fill("生年月日", pupil.born)
        resident.fill("今通っている学校", "窓口市立緑町小学校")
        resident.select("学年", pupil.school_year)
        resident.continue_()
    pupils = resident.page.get_by_role("definition").filter(has_text="窓口市立緑町小学校")
    expect(pupils).to_have_count(2)
    resident.continue_()
    resident.fill("今の学校に通う最後の日", "2026-12-18")
    resident.continue_()
    resident.declare(CORRECT)


@JS_ONLY
def test_moving_from_sign_in_to_the_receipt(page: Page, city: LiveApp):
    resident = Resident(page, city.url)
    filed = [MOVE_OUT, NHI_MOVING_OUT, CHILD_ALLOWANCE_MOVING, SCHOOL_TRANSFER]
    _moving_questions(resident)
    # The dog's procedure ends inside the form for a move out (the test below goes on
    # past that end).
    resident.choose_procedures(keep=[procedure.title for procedure in filed], drop=[DOG])
    _moving_shared_pages(resident, MOVING_REGISTERS, FAMILY)
    _move_out_pages(resident)
    _nhi_moving_out_pages(resident)
    _child_allowance_moving_pages(resident)
    _school_transfer_pages(resident)

    resident.expect_heading("添付書類")
    # The one document a move out asks for is the insurance card itself, handed back:
    # it cannot be uploaded, only posted or brought.
    group = page.get_by_role("group", name="国民健康保険の資格確認書（返却）", exact=True)
    expect(group.get_by_label("今アップロードする", exact=True)).to_have_count(0)
    resident.supply_document("国民健康保険の資格確認書（返却）", way="郵送する")
    resident.continue_()
    check = page.get_by_role("main")
    expect(check).to_contain_text("〒530-0001 大阪府大阪市北区梅田一丁目 2-3 梅田ハイツ505")
    resident.send()

    seen = assert_application_page(resident, life_event=MOVING, applicant="高橋 大樹", filed=filed)
    assert "大阪市北区梅田一丁目" in seen.receipt_text

    # The city asks for a document; the resident answers from the dashboard with a file.
    _city_asks(city, f"{seen.reference}-1", "転出先の住所が分かる書類の写しを添付してください。")
    page.reload()
    expect(page.get_by_role("main")).to_contain_text("回答待ちの申請が1件あります")
    page.get_by_role("link", name="依頼に回答する").click()
    expect(page.get_by_role("main")).to_contain_text("転出先の住所が分かる書類の写しを")
    page.get_by_label("あなたの回答", exact=True).fill("賃貸契約書の写しを添付します。")
    page.get_by_label("ファイル（任意）", exact=True).set_input_files(
        upload("賃貸契約書.png", png_photo())
    )
    page.get_by_role("button", name="回答を送る").click()
    answered = page.get_by_role("region", name=filed[0].title, exact=True)
    expect(answered).to_contain_text("審査中")
    expect(answered.get_by_role("link", name="賃貸契約書.png")).to_be_visible()


def _city_asks(city: LiveApp, reference: str, text: str) -> None:
    """A clerk's request for information, made through the one workflow."""
    with city.app.app_context():
        submission = db.session.scalars(
            select(Submission).where(Submission.reference == reference)
        ).one()
        context = default_context()
        now = utcnow()
        day = dict(now=now, local_day=now.date(), is_business_day=context.is_business_day)
        workflow.transition(
            db.session, submission, "in_review", actor="user:clerk", role="clerk", **day
        )
        workflow.request_information(db.session, submission, text, clerk_id=None, **day)
        db.session.commit()


@JS_ONLY
def test_a_procedure_ending_inside_the_form_lets_the_resident_go_on(page: Page, city: LiveApp):
    resident = Resident(page, city.url)
    _moving_questions(resident)
    resident.choose_procedures(
        keep=[MOVE_OUT.title, DOG],
        drop=[NHI_MOVING_OUT.title, CHILD_ALLOWANCE_MOVING.title, SCHOOL_TRANSFER.title],
    )
    _moving_shared_pages(resident, ["住民基本台帳"], family=[])
    _move_out_pages(resident)

    resident.expect_heading("引越し先の市区町村で届け出てください")
    way_on = page.get_by_role("link", name="ほかの手続に進む")
    expect(way_on).to_be_visible()
    way_on.click()
    resident.expect_heading("入力内容の確認")
    expect(page.get_by_role("main")).to_contain_text(DOG)  # named as not filed online
    resident.send()
    assert_application_page(resident, life_event=MOVING, applicant="高橋 大樹", filed=[MOVE_OUT])
