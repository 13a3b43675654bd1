"""Run evaluation questions against an MCP server and report accuracy.

Requires: pip install anthropic mcp
"""

import argparse
import asyncio
import os
import xml.etree.ElementTree as ET

from anthropic import Anthropic
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client


def load_questions(path):
    root = ET.parse(path).getroot()
    return [(qa.findtext("question"), qa.findtext("answer")) for qa in root.iter("qa_pair")]


async def run(args):
    client = Anthropic(api_key=os.environ["ANTHROPIC_API_KEY"])
    params = StdioServerParameters(command=args.command, args=args.args)
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            tools = (await session.list_tools()).tools
            right = 0
            questions = load_questions(args.file)
            for question, answer in questions:
                reply = client.messages.create(
                    model="claude-sonnet-4-5",
                    max_tokens=1024,
                    messages=[{"role": "user", "content": question}],
                    tools=[{"name": t.name, "description": t.description, "input_schema": t.inputSchema} for t in tools],
                )
                text = "".join(b.text for b in reply.content if b.type == "text")
                right += answer.strip() in text
            print(f"accuracy: {right}/{len(questions)}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("-t", "--transport", default="stdio")
    p.add_argument("-c", "--command", required=True)
    p.add_argument("-a", "--args", nargs="*", default=[])
    p.add_argument("file")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
