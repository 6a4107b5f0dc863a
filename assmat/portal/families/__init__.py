"""What a family account is for (issue 13, « Parents »): favourites, saved searches with their
email alerts, contact requests to an assistant through the platform, and « Mes données »."""
