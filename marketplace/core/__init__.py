"""What every feature shares: model base, Vietnamese text, money, dates, pagination, errors."""
