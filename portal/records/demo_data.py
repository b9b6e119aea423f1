"""The fictional residents of 窓口市 that the demo registers hold (`flask demo seed`).

Every person and address is invented. 窓口市 lies in the fictional 窓口県, and its postal
codes start with 000, a prefix Japan Post does not use, so no demo address can be
mistaken for a real one. Dates are absolute, chosen around the reference date
2026-11-27 that the shipped definitions' scenarios use as "today".

The persons cover the three life events: a birth last week (parents on National
Health Insurance, an older sibling), a pregnancy, a family moving out with
school-age children and a dog, a family moving within the city, a single person
moving in; three deaths (78 with late-stage elderly medical and a care level, 60 on
National Health Insurance, 67 with long-term care, a disability certificate and
property), a funeral host in another city and one in another household, heirs, a
daughter with a power of attorney for her father, and people on employees' insurance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

REFERENCE_DATE = date(2026, 11, 27)
# The demo city is in a fictional prefecture, so that no real place is implied;
# every register address is in it.
PREFECTURE: str | None = "窓口県"
CITY = "窓口市"
TAX_FISCAL_YEAR = 2026
PER_CAPITA_LEVY = 5_000


@dataclass(frozen=True)
class DemoHousehold:
    """A household and the address it lives at in 窓口市."""

    key: str
    postal_code: str
    town: str
    line: str


@dataclass(frozen=True)
class DemoPerson:
    """A person: the resident record, or a non-resident when ``household`` is None."""

    key: str
    persona: str
    description: str
    family: str
    given: str
    family_kana: str
    given_kana: str
    birth_date: date
    sex: str
    household: str | None = None
    relationship_to_head: str | None = None
    moved_in_date: date | None = None
    death_date: date | None = None
    my_number_on_file: bool = True


@dataclass(frozen=True)
class DemoRelation:
    """``person`` is the ``relationship`` of ``related`` (outside their household)."""

    person: str
    related: str
    relationship: str
    power_of_attorney_scope: str | None = None
    power_of_attorney_until: date | None = None


@dataclass(frozen=True)
class DemoTax:
    """A fiscal year's resident tax; the per-capita levy is due whenever income tax is."""

    income: int
    income_levy: int

    @property
    def per_capita_levy(self) -> int:
        """均等割: levied on everyone who pays the income-based part."""
        return PER_CAPITA_LEVY if self.income_levy else 0


@dataclass(frozen=True)
class DemoMembership:
    """An insurance membership (NHI, late-stage elderly medical, long-term care)."""

    insured_number: str
    acquired_date: date
    nhi_household_number: str | None = None
    copayment_percent: int | None = None
    care_level: str | None = None
    certified_until: date | None = None


@dataclass(frozen=True)
class DemoSeal:
    """A registered seal."""

    registration_number: str
    registered_date: date


@dataclass(frozen=True)
class DemoAllowance:
    """A child allowance and the children it is paid for."""

    started_date: date
    children: tuple[str, ...]


@dataclass(frozen=True)
class DemoCertificate:
    """A disability certificate."""

    person: str
    certificate_number: str
    kind: str
    grade: str
    issued_date: date
    valid_until: date | None = None


@dataclass(frozen=True)
class DemoAccount:
    """A registered public-fund account (Japan Post Bank ones keep 記号 and 番号 too)."""

    bank_code: str
    branch_code: str
    account_number: str
    holder_kana: str
    registered_date: date
    yucho_kigou: str | None = None
    yucho_bangou: str | None = None
    account_type: str = "ordinary"


# The tables read better one record to a block than one argument to a line.
# fmt: off
HOUSEHOLDS: tuple[DemoHousehold, ...] = (
    DemoHousehold("demo-h01", "0000001", "本町一丁目", "2-3"),
    DemoHousehold("demo-h02", "0000002", "駅前二丁目", "5-8 メゾン駅前201"),
    DemoHousehold("demo-h03", "0000004", "桜台三丁目", "4-1 桜台ハイツ102"),
    DemoHousehold("demo-h04", "0000003", "緑町四丁目", "10-2"),
    DemoHousehold("demo-h05", "0000005", "川端一丁目", "7-15"),
    DemoHousehold("demo-h06", "0000001", "本町三丁目", "1-8"),
    DemoHousehold("demo-h07", "0000006", "中央二丁目", "6-4 中央マンション305"),
    DemoHousehold("demo-h08", "0000003", "緑町二丁目", "3-9"),
    DemoHousehold("demo-h09", "0000004", "桜台一丁目", "12-5"),
    DemoHousehold("demo-h10", "0000005", "川端三丁目", "2-20"),
    DemoHousehold("demo-h11", "0000006", "中央五丁目", "1-1 中央タワー1203"),
    DemoHousehold("demo-h12", "0000002", "駅前一丁目", "1-10 駅前レジデンス402"),
)

PERSONS: tuple[DemoPerson, ...] = (
    # Childcare: a birth last week, parents on National Health Insurance, a sibling.
    DemoPerson(
        "demo-0001", "sato_kenichi_father",
        "Father of a baby born on 18 November; self-employed, NHI; receives child allowance.",
        "佐藤", "健一", "サトウ", "ケンイチ", date(1990, 4, 12), "male",
        "demo-h01", "head", date(2018, 4, 1),
    ),
    DemoPerson(
        "demo-0002", "sato_hanako_new_mother",
        "Mother of a baby born on 18 November (registered on the 20th); NHI.",
        "佐藤", "花子", "サトウ", "ハナコ", date(1992, 8, 2), "female",
        "demo-h01", "spouse", date(2019, 6, 15),
    ),
    DemoPerson(
        "demo-0003", "sato_haruto_older_sibling",
        "The baby's older brother, 3; NHI; child allowance is paid for him.",
        "佐藤", "陽翔", "サトウ", "ハルト", date(2023, 3, 10), "male",
        "demo-h01", "child", date(2023, 3, 10),
    ),
    DemoPerson(
        "demo-0004", "sato_yui_newborn",
        "Born on 18 November 2026, registered last week; not yet in NHI or child allowance.",
        "佐藤", "結衣", "サトウ", "ユイ", date(2026, 11, 18), "female",
        "demo-h01", "child", date(2026, 11, 18),
    ),
    # Childcare: a pregnancy; the couple moved in this April and have employees' insurance.
    DemoPerson(
        "demo-0005", "tanaka_misaki_pregnant",
        "Pregnant, due in May; moved in on 1 April, so no resident tax record here yet.",
        "田中", "美咲", "タナカ", "ミサキ", date(1997, 2, 14), "female",
        "demo-h02", "spouse", date(2026, 4, 1),
    ),
    DemoPerson(
        "demo-0006", "tanaka_daisuke_employee_insurance",
        "Her husband; employees' health insurance (no NHI); moved in on 1 April.",
        "田中", "大輔", "タナカ", "ダイスケ", date(1995, 10, 3), "male",
        "demo-h02", "head", date(2026, 4, 1),
    ),
    # Childcare: a single parent applying for a nursery place.
    DemoPerson(
        "demo-0007", "yoshida_mari_single_parent",
        "Single parent on NHI applying for a nursery; public-fund account at Japan Post Bank.",
        "吉田", "真理", "ヨシダ", "マリ", date(1990, 12, 1), "female",
        "demo-h03", "head", date(2020, 10, 1),
    ),
    DemoPerson(
        "demo-0008", "yoshida_aoi_nursery_child",
        "Her son, 5, who would go to nursery; NHI.",
        "吉田", "蒼", "ヨシダ", "アオイ", date(2021, 7, 7), "male",
        "demo-h03", "child", date(2021, 7, 7),
    ),
    # Moving out of the city with two school-age children and a dog.
    DemoPerson(
        "demo-0009", "takahashi_daiki_moving_out",
        "Moving the family to Osaka on 20 December with their dog; NHI, seal, child allowance.",
        "高橋", "大樹", "タカハシ", "ダイキ", date(1984, 9, 9), "male",
        "demo-h04", "head", date(2015, 4, 1),
    ),
    DemoPerson(
        "demo-0010", "takahashi_yumi_moving_out",
        "His wife, moving out with him; NHI.",
        "高橋", "由美", "タカハシ", "ユミ", date(1986, 5, 5), "female",
        "demo-h04", "spouse", date(2015, 4, 1),
    ),
    DemoPerson(
        "demo-0011", "takahashi_ren_pupil",
        "Their son, 11, in year 6 of a city primary school.",
        "高橋", "蓮", "タカハシ", "レン", date(2015, 6, 15), "male",
        "demo-h04", "child", date(2015, 6, 15),
    ),
    DemoPerson(
        "demo-0012", "takahashi_yuna_pupil",
        "Their daughter, 7, in year 2 of a city primary school.",
        "高橋", "結菜", "タカハシ", "ユナ", date(2019, 1, 20), "female",
        "demo-h04", "child", date(2019, 1, 20),
    ),
    # Moving within the city, with a parent who needs care support.
    DemoPerson(
        "demo-0013", "ito_shota_moving_within",
        "Moving within the city on 10 December; employees' insurance; child allowance.",
        "伊藤", "翔太", "イトウ", "ショウタ", date(1980, 3, 3), "male",
        "demo-h05", "head", date(2012, 4, 1),
    ),
    DemoPerson(
        "demo-0014", "ito_megumi_moving_within",
        "His wife, a dependant on his employees' insurance; no income.",
        "伊藤", "恵", "イトウ", "メグミ", date(1982, 7, 21), "female",
        "demo-h05", "spouse", date(2012, 4, 1),
    ),
    DemoPerson(
        "demo-0015", "ito_riko_junior_high",
        "Their daughter, 14, at a city junior high school.",
        "伊藤", "莉子", "イトウ", "リコ", date(2012, 10, 10), "female",
        "demo-h05", "child", date(2012, 10, 10),
    ),
    DemoPerson(
        "demo-0016", "ito_chiyo_care_support",
        "His mother, 72, moving with them; NHI, long-term care certified 要支援1.",
        "伊藤", "千代", "イトウ", "チヨ", date(1954, 2, 2), "female",
        "demo-h05", "parent", date(2019, 2, 1),
    ),
    # A death at 78: late-stage elderly medical, care level 3, head of household.
    DemoPerson(
        "demo-0017", "suzuki_taro_deceased",
        "Died on 20 November 2026 at 78; head of household; late-stage elderly medical, 要介護3.",
        "鈴木", "太郎", "スズキ", "タロウ", date(1948, 2, 10), "male",
        "demo-h06", "head", date(1975, 4, 1), death_date=date(2026, 11, 20),
    ),
    DemoPerson(
        "demo-0018", "suzuki_sachiko_widow",
        "His widow, 76; stays in the household with their daughter; late-stage elderly medical.",
        "鈴木", "幸子", "スズキ", "サチコ", date(1950, 6, 6), "female",
        "demo-h06", "spouse", date(1975, 4, 1),
    ),
    DemoPerson(
        "demo-0019", "suzuki_yuki_employee_insurance",
        "Their daughter, 46, living with them; an heir; employees' insurance (no NHI).",
        "鈴木", "由紀", "スズキ", "ユキ", date(1980, 9, 15), "female",
        "demo-h06", "child", date(1980, 9, 15),
    ),
    # A death at 60 on National Health Insurance; the widow held the funeral.
    DemoPerson(
        "demo-0020", "yamamoto_yoko_widow_funeral_host",
        "Widow and funeral host of a man who died at 60; head of household; NHI.",
        "山本", "陽子", "ヤマモト", "ヨウコ", date(1968, 9, 1), "female",
        "demo-h07", "head", date(2001, 3, 15),
    ),
    DemoPerson(
        "demo-0021", "yamamoto_makoto_deceased",
        "Died on 19 November 2026 at 60; NHI; physical disability certificate.",
        "山本", "誠", "ヤマモト", "マコト", date(1966, 5, 20), "male",
        "demo-h07", "spouse", date(2001, 3, 15), death_date=date(2026, 11, 19),
    ),
    DemoPerson(
        "demo-0022", "yamamoto_aya_daughter",
        "Their daughter, 30, living with her mother; employees' insurance.",
        "山本", "彩", "ヤマモト", "アヤ", date(1996, 1, 25), "female",
        "demo-h07", "child", date(2001, 3, 15),
    ),
    # A death at 67: long-term care, a disability certificate, a house; lived alone.
    DemoPerson(
        "demo-0023", "nakamura_masaru_deceased",
        "Died on 22 November 2026 at 67, living alone; NHI, 要介護2, disability, owned his house.",
        "中村", "勝", "ナカムラ", "マサル", date(1959, 6, 30), "male",
        "demo-h08", "head", date(1988, 5, 1), death_date=date(2026, 11, 22),
    ),
    DemoPerson(
        "demo-0024", "nakamura_kenta_heir_funeral_host",
        "His son and heir in another household in the city, who held the funeral.",
        "中村", "健太", "ナカムラ", "ケンタ", date(1988, 3, 12), "male",
        "demo-h09", "head", date(2016, 10, 1),
    ),
    DemoPerson(
        "demo-0025", "nakamura_rina",
        "Kenta's wife; a dependant on his employees' insurance.",
        "中村", "里奈", "ナカムラ", "リナ", date(1990, 11, 3), "female",
        "demo-h09", "spouse", date(2016, 10, 1),
    ),
    DemoPerson(
        "demo-0026", "nakamura_minato",
        "Kenta's son, 2; child allowance is paid for him.",
        "中村", "湊", "ナカムラ", "ミナト", date(2024, 5, 5), "male",
        "demo-h09", "child", date(2024, 5, 5),
    ),
    # A daughter who holds a power of attorney for her elderly father.
    DemoPerson(
        "demo-0027", "kato_kiyoshi_elderly_parent",
        "88, living alone; late-stage elderly medical, 要介護4; his daughter acts for him.",
        "加藤", "清", "カトウ", "キヨシ", date(1938, 4, 4), "male",
        "demo-h10", "head", date(1970, 4, 1),
    ),
    DemoPerson(
        "demo-0028", "kimura_yoko_power_of_attorney",
        "Holds a power of attorney for her father Kato Kiyoshi; NHI.",
        "木村", "洋子", "キムラ", "ヨウコ", date(1965, 1, 20), "female",
        "demo-h11", "spouse", date(1992, 6, 1),
    ),
    DemoPerson(
        "demo-0029", "kimura_takashi",
        "Her husband, retired; NHI.",
        "木村", "隆", "キムラ", "タカシ", date(1963, 8, 8), "male",
        "demo-h11", "head", date(1992, 6, 1),
    ),
    DemoPerson(
        "demo-0030", "kobayashi_itsuki_employee_insurance",
        "25, living alone; employees' insurance, so no NHI record.",
        "小林", "樹", "コバヤシ", "イツキ", date(2001, 4, 1), "male",
        "demo-h12", "head", date(2024, 4, 1),
    ),
    # People the city knows who are not its residents.
    DemoPerson(
        "demo-0031", "watanabe_takumi_moving_in",
        "Lives in Osaka and moves in alone on 1 December: no resident record here yet.",
        "渡辺", "拓海", "ワタナベ", "タクミ", date(1999, 8, 8), "male",
    ),
    DemoPerson(
        "demo-0032", "suzuki_ichiro_funeral_host_osaka",
        "Son of Suzuki Taro, lives in Osaka; held his father's funeral; an heir.",
        "鈴木", "一郎", "スズキ", "イチロウ", date(1975, 7, 7), "male",
    ),
    DemoPerson(
        "demo-0033", "tamura_keiko_heir_yokohama",
        "Daughter of Suzuki Taro, lives in Yokohama; an heir.",
        "田村", "恵子", "タムラ", "ケイコ", date(1972, 10, 10), "female",
    ),
)

RELATIONS: tuple[DemoRelation, ...] = (
    DemoRelation("demo-0032", "demo-0017", "child"),
    DemoRelation("demo-0033", "demo-0017", "child"),
    DemoRelation("demo-0024", "demo-0023", "child"),
    DemoRelation(
        "demo-0028", "demo-0027", "child",
        power_of_attorney_scope="介護保険・医療保険・住所の届出に関する手続き",
        power_of_attorney_until=date(2027, 9, 30),
    ),
)

# The fiscal year 2026 tax, on 2025 income, of everyone who lived here on 1 January 2026.
RESIDENT_TAXES: dict[str, DemoTax] = {
    "demo-0001": DemoTax(4_200_000, 296_000),
    "demo-0002": DemoTax(1_100_000, 64_500),
    "demo-0007": DemoTax(2_300_000, 121_000),
    "demo-0009": DemoTax(5_600_000, 412_000),
    "demo-0010": DemoTax(480_000, 0),
    "demo-0013": DemoTax(6_300_000, 468_000),
    "demo-0014": DemoTax(0, 0),
    "demo-0016": DemoTax(1_200_000, 34_000),
    "demo-0017": DemoTax(1_800_000, 95_000),
    "demo-0018": DemoTax(400_000, 0),
    "demo-0019": DemoTax(3_900_000, 270_000),
    "demo-0020": DemoTax(2_100_000, 130_000),
    "demo-0021": DemoTax(3_100_000, 205_000),
    "demo-0022": DemoTax(3_400_000, 232_000),
    "demo-0023": DemoTax(2_600_000, 160_000),
    "demo-0024": DemoTax(4_800_000, 350_000),
    "demo-0025": DemoTax(1_300_000, 77_000),
    "demo-0027": DemoTax(1_500_000, 45_000),
    "demo-0028": DemoTax(2_000_000, 120_000),
    "demo-0029": DemoTax(3_800_000, 260_000),
    "demo-0030": DemoTax(3_000_000, 200_000),
}

NHI: dict[str, DemoMembership] = {
    "demo-0001": DemoMembership("01-100001", date(2018, 4, 1), "1000001"),
    "demo-0002": DemoMembership("01-100002", date(2019, 6, 15), "1000001"),
    "demo-0003": DemoMembership("01-100003", date(2023, 3, 10), "1000001"),
    "demo-0007": DemoMembership("01-200001", date(2020, 10, 1), "1000003"),
    "demo-0008": DemoMembership("01-200002", date(2021, 7, 7), "1000003"),
    "demo-0009": DemoMembership("02-300001", date(2015, 4, 1), "1000004"),
    "demo-0010": DemoMembership("02-300002", date(2015, 4, 1), "1000004"),
    "demo-0011": DemoMembership("02-300003", date(2015, 6, 15), "1000004"),
    "demo-0012": DemoMembership("02-300004", date(2019, 1, 20), "1000004"),
    "demo-0016": DemoMembership("03-400001", date(2019, 2, 1), "1000005"),
    "demo-0020": DemoMembership("12-345677", date(2020, 4, 1), "1000007"),
    "demo-0021": DemoMembership("12-345678", date(2020, 4, 1), "1000007"),
    "demo-0023": DemoMembership("04-500001", date(2019, 7, 1), "1000008"),
    "demo-0028": DemoMembership("05-600001", date(2023, 9, 1), "1000011"),
    "demo-0029": DemoMembership("05-600002", date(2023, 9, 1), "1000011"),
}

LATE_ELDERLY: dict[str, DemoMembership] = {
    "demo-0017": DemoMembership("12345678", date(2023, 2, 10), copayment_percent=10),
    "demo-0018": DemoMembership("12345679", date(2025, 6, 6), copayment_percent=10),
    "demo-0027": DemoMembership("23456781", date(2013, 4, 4), copayment_percent=10),
}

LTC: dict[str, DemoMembership] = {
    "demo-0016": DemoMembership(
        "0000234567", date(2019, 2, 1), care_level="support_1", certified_until=date(2027, 1, 31)
    ),
    "demo-0017": DemoMembership(
        "0000123456", date(2013, 2, 9), care_level="care_3", certified_until=date(2027, 5, 31)
    ),
    "demo-0018": DemoMembership("0000123457", date(2015, 6, 5)),
    "demo-0023": DemoMembership(
        "0000345678", date(2024, 6, 29), care_level="care_2", certified_until=date(2027, 3, 31)
    ),
    "demo-0027": DemoMembership(
        "0000456789", date(2003, 4, 3), care_level="care_4", certified_until=date(2027, 8, 31)
    ),
}

SEALS: dict[str, DemoSeal] = {
    "demo-0001": DemoSeal("00010001", date(2018, 5, 10)),
    "demo-0009": DemoSeal("00010002", date(2016, 2, 1)),
    "demo-0013": DemoSeal("00010003", date(2012, 4, 20)),
    "demo-0017": DemoSeal("00010004", date(1990, 5, 1)),
    "demo-0020": DemoSeal("00010008", date(2001, 3, 15)),
    "demo-0021": DemoSeal("00010005", date(2001, 3, 15)),
    "demo-0023": DemoSeal("00010006", date(1995, 10, 10)),
    "demo-0027": DemoSeal("00010007", date(1985, 4, 1)),
    "demo-0030": DemoSeal("00010009", date(2024, 4, 5)),
}

CHILD_ALLOWANCES: dict[str, DemoAllowance] = {
    "demo-0001": DemoAllowance(date(2023, 4, 1), ("demo-0003",)),
    "demo-0007": DemoAllowance(date(2021, 8, 1), ("demo-0008",)),
    "demo-0009": DemoAllowance(date(2015, 7, 1), ("demo-0011", "demo-0012")),
    "demo-0013": DemoAllowance(date(2012, 11, 1), ("demo-0015",)),
    "demo-0024": DemoAllowance(date(2024, 6, 1), ("demo-0026",)),
}

DISABILITY_CERTIFICATES: tuple[DemoCertificate, ...] = (
    DemoCertificate("demo-0021", "第1234号", "physical", "3級", date(2019, 8, 1)),
    DemoCertificate("demo-0023", "第2345号", "physical", "2級", date(2021, 3, 15)),
    DemoCertificate(
        "demo-0023", "精第0456号", "mental", "2級", date(2025, 4, 1), valid_until=date(2027, 3, 31)
    ),
)

PUBLIC_FUND_ACCOUNTS: dict[str, DemoAccount] = {
    "demo-0001": DemoAccount("0005", "123", "1234567", "サトウ ケンイチ", date(2022, 7, 1)),
    "demo-0007": DemoAccount(
        "9900", "018", "1234567", "ヨシダ マリ", date(2023, 1, 10),
        yucho_kigou="10180", yucho_bangou="12345671",
    ),
    "demo-0009": DemoAccount("0009", "456", "7654321", "タカハシ ダイキ", date(2022, 9, 1)),
    "demo-0020": DemoAccount("0001", "001", "1234567", "ヤマモト ヨウコ", date(2022, 8, 15)),
    "demo-0024": DemoAccount("0010", "234", "2345678", "ナカムラ ケンタ", date(2023, 2, 1)),
    "demo-0030": DemoAccount("0036", "111", "3456789", "コバヤシ イツキ", date(2024, 5, 1)),
    "demo-0032": DemoAccount("0005", "567", "4567890", "スズキ イチロウ", date(2022, 11, 1)),
}
# fmt: on
