# The schema half of 0006, in its own transaction: PostgreSQL refuses to alter a table with
# pending deferred foreign-key checks from 0006's data step.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('pb', '0006_sealed_ballots'),
    ]

    operations = [
        migrations.RenameField(
            model_name='ballot',
            old_name='cast_on',
            new_name='sealed_on',
        ),
        migrations.RemoveField(
            model_name='ballot',
            name='receipt_hash',
        ),
    ]
