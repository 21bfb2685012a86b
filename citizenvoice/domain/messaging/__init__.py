"""Messages to authors: what each one says (templates), when one is promised (notify, verification,
lost links), and how it is delivered (sender and the provider backends).

A message is promised by a row of the ``messages`` outbox, written in the transaction of the change
that causes it; the sender loop delivers it later, outside any request, at least once.
"""
