"""Personal data protection (Decree 13/2023/NĐ-CP): privacy page, data export, account deletion."""
