"""The category tree seeded with the nine areas of the ministry's plan (seed 000, 一、案例选编
的范围), community correction split as the plan lists it; a first controlled vocabulary
(主题词); on PostgreSQL the full-text index over the bigram column (backend/caselibrary/search.py)."""

from django.db import migrations

AREAS = [
    ("community-correction", "社区矫正"),
    ("legal-education", "法治宣传教育"),
    ("lawyers", "律师工作"),
    ("notary", "公证工作"),
    ("legal-aid", "法律援助"),
    ("mediation", "人民调解"),
    ("judicial-exam", "司法考试"),
    ("forensic", "司法鉴定"),
    ("administrative-litigation", "行政应诉与行政复议"),
]
CORRECTION = [
    ("correction-intake", "收矫"),
    ("correction-warning", "警告"),
    ("correction-revocation", "撤销缓刑、假释、暂予监外执行后收监执行"),
    ("correction-special", "管制类、缓刑类、假释类、暂予监外执行类及特殊类型"),
]
TERMS = {
    "community-correction": [
        "社区矫正", "警告", "收监执行", "撤销缓刑", "撤销假释", "暂予监外执行", "管制",
        "缓刑", "假释", "脱管", "越界", "解除矫正",
    ],
    "legal-education": ["以案释法", "法治宣传", "法治创建"],
    "lawyers": ["律师代理", "律师辩护", "非诉讼业务", "律师维权", "律师惩戒"],
    "notary": ["传统公证", "新型公证", "公证处罚"],
    "legal-aid": ["法律援助", "不予法律援助"],
    "mediation": ["人民调解", "行业性专业性调解"],
    "judicial-exam": ["考试作弊", "扰乱考场秩序"],
    "forensic": ["法医鉴定", "物证鉴定", "声像资料鉴定", "环境损害鉴定", "鉴定人出庭"],
    "administrative-litigation": ["行政处罚", "行政复议", "行政应诉", "信息公开", "行政许可", "投诉处理"],
}


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    Category = apps.get_model("caselibrary", "LibraryCategory")
    Term = apps.get_model("caselibrary", "SubjectTerm")
    if Category.objects.exists():  # idempotent: tests re-seed after a flush
        return
    top = {}
    for position, (code, name) in enumerate(AREAS, start=1):
        top[code] = Category.objects.create(code=code, name=name, position=position * 10)
    for position, (code, name) in enumerate(CORRECTION, start=1):
        Category.objects.create(
            code=code, name=name, parent=top["community-correction"], position=10 + position
        )
    for code, terms in TERMS.items():
        Term.objects.bulk_create([Term(term=t, category=top[code]) for t in terms])


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("caselibrary", "SubjectTerm").objects.all().delete()
    Category = apps.get_model("caselibrary", "LibraryCategory")
    Category.objects.filter(parent__isnull=False).delete()
    Category.objects.all().delete()


def fulltext_up(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX library_fulltext ON caselibrary_librarycase "
            "USING GIN (to_tsvector('simple', search_terms)) WHERE state = 'accepted'"
        )


def fulltext_down(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS library_fulltext")


class Migration(migrations.Migration):
    dependencies = [("caselibrary", "0001_initial")]

    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunPython(fulltext_up, fulltext_down),
    ]
