"""What comes back after a send: bounces, complaints, mailed unsubscribes, provider events.

``findings`` holds the value every source turns a returned mail or event
into; ``classify`` recognises one mail, which ``mailtext`` reads without
trusting it; ``mailboxes`` reads the office's mailbox (a Maildir, an mbox
file; IMAP in ``imap``); ``mailgun`` reads Mailgun's events and webhooks;
``act`` does what a finding asks of the journal and the suppression list;
``reading`` drives one ``pressdist inbox`` run.
"""
