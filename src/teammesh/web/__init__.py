"""The web board: a live page of a team run (members and their handoffs, states, tasks,
artifacts, criteria, counters, approvals to answer, a timeline, transcripts).

    app.py        the Starlette routes (page, static files, state, SSE, transcript, decide)
    access.py     the token in the printed URL becomes an HttpOnly SameSite=Strict cookie
    server.py     serving it in the running loop (the gateway's listener + guard recipe)
    feed.py       one snapshot, rebuilt on change, pushed to every page
    snapshot.py   the page's state read from the board (+ the runner's live state)
    member_state.py, timeline.py, transcript.py, watch.py: the parts of that state
    run_hook.py   `teammesh run|demo --web`;  cli.py: `teammesh board serve`
    static/       board.html, board.js, board.css: plain files, no build step, no CDN
"""
