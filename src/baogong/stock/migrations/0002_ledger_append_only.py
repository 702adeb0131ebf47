from django.db import migrations

from baogong.core.append_only import AppendOnly


class Migration(migrations.Migration):
    dependencies = [("stock", "0001_initial")]
    operations = [AppendOnly("stock_stockmovement")]
