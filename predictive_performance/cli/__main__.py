from predictive_performance.cli import app

app()
