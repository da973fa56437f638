"""`manage.py check --deploy` with production settings, in a clean environment of its own."""

from tests.bookstore.helpers import manage_in_production


def test_check_deploy_reports_nothing_with_production_settings():
    result = manage_in_production("check", "--deploy")

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output
    assert "WARNING" not in output, output
