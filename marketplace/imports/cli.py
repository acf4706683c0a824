from flask.cli import AppGroup

import_cli = AppGroup("import", help="Import products and sales points from CSV files.")
